//! Identification history, inside the caller's RLS transaction (and scoped by
//! `auth.uid()` explicitly too). What the API answers is
//! `crate::routes::history::HistoryEntry`.

use super::query::Statements;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use super::embed::{MachineIndex, WithMachine, attach, attach_in};
use super::rls::{ReadQuery, ScopedCall, UserTx};
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;
use crate::error::ApiResult;

/// A validated new entry.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub id: Option<Uuid>,
    pub machine_id: String,
    pub confidence: Option<f32>,
    pub source: String,
    pub photo_uri: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
}

/// The columns of [`EntryRow`] but `total`.
macro_rules! columns {
    () => {
        "id, machine_id, confidence, source, taken_at, created_at, photo_uri"
    };
}

/// An entry's own columns, and how many entries match.
#[derive(Debug, FromRow)]
pub struct EntryRow {
    pub id: Uuid,
    pub machine_id: MachineId,
    pub confidence: Option<f32>,
    pub source: String,
    pub taken_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub photo_uri: Option<String>,
    /// How many entries match in all (on list pages; 0 elsewhere).
    #[sqlx(default)]
    total: i64,
}

/// The one entry `row` (if any) with its machine, inside the transaction.
async fn with_machine(
    tx: &mut UserTx,
    machines: &MachineIndex,
    row: Option<EntryRow>,
) -> Result<Option<WithMachine<EntryRow>>, sqlx::Error> {
    let paired = attach_in(tx, machines, row.into_iter().collect(), |r| &*r.machine_id).await?;
    Ok(paired.into_iter().next())
}

/// `query` followed by `h.machine_id = <id>` when the page is filtered by machine, else
/// by `true`.
fn machine_filter(query: ReadQuery, machine_id: Option<&str>) -> ReadQuery {
    match machine_id {
        Some(id) => query.sql("h.machine_id = ").text(Some(id)),
        None => query.sql("true"),
    }
}

/// A page of entries, newest `taken_at` first, with their machines from `machines`, and
/// how many there are in all.
#[tracing::instrument(skip(db, claims, machines))]
pub async fn list(
    db: &Db,
    claims: &str,
    machines: &MachineIndex,
    page: PageRequest,
    machine_id: Option<&str>,
) -> ApiResult<(Vec<WithMachine<EntryRow>>, i64)> {
    // The function (migration 20261208000000) scopes the statement to the caller and
    // reads the page as the caller, under the history policy.
    let rows: Vec<EntryRow> = UserTx::call(
        db,
        claims,
        ScopedCall::new("machinemate_read_history")
            .text(machine_id)
            .int(page.limit())
            .int(page.offset()),
    )
    .await?;
    let total = match rows.first() {
        Some(row) => row.total,
        // Past the last page: no row carries the count.
        None if page.offset() > 0 => {
            let counted: Vec<(i64,)> = UserTx::read(
                db,
                claims,
                machine_filter(
                    ReadQuery::new(
                        "select count(*) from public.history h \
                         where h.user_id = (select auth.uid()) and ",
                    ),
                    machine_id,
                ),
            )
            .await?;
            counted.first().map_or(0, |(n,)| *n)
        }
        None => 0,
    };
    let entries = attach(db, machines, rows, |row| &*row.machine_id).await?;
    Ok((entries, total))
}

#[tracing::instrument(skip(tx, machines))]
pub async fn get(
    tx: &mut UserTx,
    machines: &MachineIndex,
    id: Uuid,
) -> Result<Option<WithMachine<EntryRow>>, sqlx::Error> {
    let row = tx
        .query_as(concat!(
            "select ",
            columns!(),
            " from public.history where user_id = (select auth.uid()) and id = $1"
        ))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    with_machine(tx, machines, row).await
}

/// Records an entry. With a client-chosen `id` that already exists, nothing is
/// written and the existing entry is returned (offline uploads may be repeated). Without
/// one, an identical entry the user wrote within `resend_window` is returned instead of
/// a second (the shipped app resends `{"machine_id": id}` after a timeout); the user's
/// row is locked first, so concurrent resends see each other. Violates
/// `history_machine_id_fkey` when the machine does not exist.
#[tracing::instrument(skip_all)]
pub async fn add(
    tx: &mut UserTx,
    machines: &MachineIndex,
    entry: &NewEntry,
    resend_window: std::time::Duration,
) -> Result<WithMachine<EntryRow>, sqlx::Error> {
    if entry.id.is_none()
        && !resend_window.is_zero()
        && let Some(row) = resent(tx, entry, resend_window).await?
    {
        return with_machine(tx, machines, Some(row))
            .await?
            .ok_or(sqlx::Error::RowNotFound);
    }
    let inserted: Option<EntryRow> = tx.query_as(concat!(
        "insert into public.history \
           (id, user_id, machine_id, confidence, source, photo_uri, taken_at) \
         values (coalesce($1, gen_random_uuid()), (select auth.uid()), $2, $3, $4, $5, coalesce($6, now())) \
         on conflict (id) do nothing returning ",
        columns!()
    ))
    .bind(entry.id)
    .bind(&entry.machine_id)
    .bind(entry.confidence)
    .bind(&entry.source)
    .bind(&entry.photo_uri)
    .bind(entry.taken_at)
    .fetch_optional(tx.conn())
    .await?;
    let added = match (inserted, entry.id) {
        (Some(row), _) => with_machine(tx, machines, Some(row)).await?,
        (None, Some(id)) => get(tx, machines, id).await?,
        (None, None) => None,
    };
    added.ok_or(sqlx::Error::RowNotFound)
}

/// The entry identical to `entry` the user wrote within `window`, if any, with the
/// user's row locked for the rest of the transaction. An entry written without a
/// `taken_at` has it equal to `created_at` (both `now()`), which tells it apart from one
/// that named its own.
async fn resent(
    tx: &mut UserTx,
    entry: &NewEntry,
    window: std::time::Duration,
) -> Result<Option<EntryRow>, sqlx::Error> {
    tx.query("select 1 from public.users where id = (select auth.uid()) for update")
        .execute(tx.conn())
        .await?;
    tx.query_as(concat!(
        "select ",
        columns!(),
        " from public.history \
         where user_id = (select auth.uid()) and machine_id = $1 \
           and confidence is not distinct from $2 and source = $3 \
           and photo_uri is not distinct from $4 \
           and created_at > now() - make_interval(secs => $6) \
           and case when $5::timestamptz is null \
                    then taken_at = created_at and taken_at > now() - make_interval(secs => $6) \
                    else taken_at = $5 end \
         order by created_at desc limit 1"
    ))
    .bind(&entry.machine_id)
    .bind(entry.confidence)
    .bind(&entry.source)
    .bind(&entry.photo_uri)
    .bind(entry.taken_at)
    .bind(window.as_secs_f64())
    .fetch_optional(tx.conn())
    .await
}

/// The ids among `ids` that name no machine.
pub async fn unknown_machines(tx: &mut UserTx, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    tx.query_scalar(
        "select x from unnest($1::text[]) as x \
         where not exists (select 1 from public.machines m where m.id = x)",
    )
    .bind(ids)
    .fetch_all(tx.conn())
    .await
}

#[tracing::instrument(skip(tx))]
pub async fn remove(tx: &mut UserTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = tx
        .query("delete from public.history where user_id = (select auth.uid()) and id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() > 0)
}

#[tracing::instrument(skip_all)]
pub async fn clear(tx: &mut UserTx) -> Result<u64, sqlx::Error> {
    let result = tx
        .query("delete from public.history where user_id = (select auth.uid())")
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected())
}
