//! Rows nothing needs any more, removed in batches that skip rows in use.

use super::batch::{BATCH, Report, in_batches};
use crate::config::MaintenanceSettings;
use crate::db::Db;
use crate::db::limits::{EXPORT, FULL_SYNC, HISTORY_BATCH, HISTORY_WRITE};
use crate::db::query::Statements;

/// How long a deleted account's record is kept: longer than any access token Supabase
/// issues can live (at most a week), so none issued before the deletion is still valid.
const DELETED_ACCOUNT_DAYS: i32 = 30;

/// Runs `sql` (which removes at most `$1` rows, binding `days` as `$2` when given) in
/// batches; returns how many rows it removed.
async fn purge(db: &Db, sql: &'static str, days: Option<i32>) -> Result<u64, sqlx::Error> {
    in_batches(async || {
        db.with_conn(async |c| {
            let query = db.query(sql).bind(BATCH);
            let query = match days {
                Some(days) => query.bind(days),
                None => query,
            };
            Ok(query.execute(c).await?.rows_affected())
        })
        .await
    })
    .await
}

pub(super) async fn all(
    db: &Db,
    keep: &MaintenanceSettings,
    report: &mut Report,
) -> Result<(), sqlx::Error> {
    let removed = purge(
        db,
        "delete from public.idempotency_keys where ctid = any(array( \
           select ctid from public.idempotency_keys where created_at < now() - interval '24 hours' \
           order by created_at limit $1 for update skip locked))",
        None,
    )
    .await?;
    report.record("idempotency_keys", removed);

    report.record(
        "sync_tombstones",
        tombstones(db, keep.tombstone_retention_days as i32).await?,
    );

    for (task, sql) in [
        (
            "identification_quota",
            "delete from public.identification_quota where ctid = any(array( \
               select ctid from public.identification_quota \
               where day < (now() at time zone 'utc')::date limit $1 for update skip locked))",
        ),
        (
            "identification_ip_quota",
            "delete from public.identification_ip_quota where ctid = any(array( \
               select ctid from public.identification_ip_quota \
               where day < (now() at time zone 'utc')::date limit $1 for update skip locked))",
        ),
    ] {
        report.record(task, purge(db, sql, None).await?);
    }
    report.record("rate_limits", past_rate_windows(db).await?);

    let days = Some(keep.identification_retention_days as i32);
    for (task, sql) in [
        (
            "identification_events",
            "delete from public.identification_events where ctid = any(array( \
               select ctid from public.identification_events \
               where created_at < now() - make_interval(days => $2) \
               order by created_at limit $1 for update skip locked))",
        ),
        (
            "identification_corrections",
            "delete from public.identification_corrections where ctid = any(array( \
               select ctid from public.identification_corrections \
               where created_at < now() - make_interval(days => $2) \
               order by created_at limit $1 for update skip locked))",
        ),
    ] {
        report.record(task, purge(db, sql, days).await?);
    }

    let removed = purge(
        db,
        "delete from public.deleted_accounts where ctid = any(array( \
           select ctid from public.deleted_accounts \
           where deleted_at < now() - make_interval(days => $2) \
           order by deleted_at limit $1 for update skip locked))",
        Some(DELETED_ACCOUNT_DAYS),
    )
    .await?;
    report.record("deleted_accounts", removed);
    Ok(())
}

/// Tombstones older than `days`, with each user's highest purged change version kept in
/// `sync_floors`, from which an older cursor syncs from the start (`routes::sync`).
async fn tombstones(db: &Db, days: i32) -> Result<u64, sqlx::Error> {
    in_batches(async || {
        db.with_conn(async |c| {
            let removed: i64 = db
                .query_scalar(
                    "with doomed as ( \
                       select user_id, entity, entity_id from public.sync_tombstones \
                       where deleted_at < now() - make_interval(days => $2) \
                       order by deleted_at limit $1 for update skip locked), \
                     purged as ( \
                       delete from public.sync_tombstones t using doomed d \
                       where t.user_id = d.user_id and t.entity = d.entity and t.entity_id = d.entity_id \
                       returning t.user_id, t.sync_version), \
                     floors as ( \
                       insert into public.sync_floors (user_id, purged_through) \
                       select user_id, max(sync_version) from purged group by user_id \
                       on conflict (user_id) do update \
                         set purged_through = greatest(public.sync_floors.purged_through, excluded.purged_through) \
                       returning 1) \
                     select count(*) from purged",
                )
                .bind(BATCH)
                .bind(days)
                .fetch_one(c)
                .await?;
            Ok(removed as u64)
        })
        .await
    })
    .await
}

/// Rate-limit rows whose window is over (each family's window is one of `db::limits`).
async fn past_rate_windows(db: &Db) -> Result<u64, sqlx::Error> {
    let buckets: Vec<&str> = [EXPORT, FULL_SYNC, HISTORY_BATCH, HISTORY_WRITE]
        .iter()
        .map(|l| l.bucket)
        .collect();
    let windows: Vec<f64> = [EXPORT, FULL_SYNC, HISTORY_BATCH, HISTORY_WRITE]
        .iter()
        .map(|l| l.window.as_secs_f64())
        .collect();
    in_batches(async || {
        db.with_conn(async |c| {
            let done = db
                .query(
                    "delete from public.rate_limits where ctid = any(array( \
                       select r.ctid from public.rate_limits r \
                       join unnest($2::text[], $3::float8[]) w (bucket, secs) on w.bucket = r.bucket \
                       where r.window_start < now() - make_interval(secs => w.secs) \
                       limit $1 for update of r skip locked))",
                )
                .bind(BATCH)
                .bind(&buckets)
                .bind(&windows)
                .execute(c)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    })
    .await
}
