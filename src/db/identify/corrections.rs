//! What users say a photo really showed.

use crate::db::query::Statements;
use crate::db::rls::UserTx;
use crate::domain::correction::CorrectionSource;

/// Records what the user says the machine really was, where they said it from, and how
/// long after the identification (once per trace; a second call replaces the first).
/// Returns that time, in milliseconds (at most the column's 2,147,483,647: an
/// identification recorded 25 days or more before, such as the FastAPI backend's).
pub async fn correct(
    tx: &mut UserTx,
    trace_id: &str,
    machine_id: &str,
    note: Option<&str>,
    source: CorrectionSource,
) -> Result<i32, sqlx::Error> {
    tx.query_scalar(
        "insert into public.identification_corrections \
           (trace_id, user_id, machine_id, note, source, time_to_correction_ms) \
         select e.trace_id, (select auth.uid()), $2, $3, $4, \
                least(greatest(0, floor(extract(epoch from now() - e.created_at) * 1000)), 2147483647)::integer \
           from public.identification_events e where e.trace_id = $1 \
         on conflict (trace_id, user_id) do update set machine_id = excluded.machine_id, \
           note = excluded.note, source = excluded.source, \
           time_to_correction_ms = excluded.time_to_correction_ms, created_at = now() \
         returning time_to_correction_ms",
    )
    .bind(trace_id)
    .bind(machine_id)
    .bind(note)
    .bind(source.as_str())
    .fetch_one(tx.conn())
    .await
}
