//! `machinemate-api maintain`: one bounded pass of housekeeping, run by a Cloud Run job
//! on a Cloud Scheduler trigger (instances get CPU only while serving, so no timer inside
//! the service could be relied on). Each task removes at most [`MAX_ROWS_PER_TASK`] rows
//! in batches of [`BATCH`] (the next run takes the rest) and logs what it removed:
//!
//! - [`rows`]: expired idempotency records, sync tombstones past their retention (with
//!   the per-user floor older cursors are answered from), quota and rate-limit rows of
//!   past windows, identifications and corrections past their retention, and records of
//!   deleted accounts older than any token that could still name them;
//! - [`uploads`]: presigned uploads never completed, and stored objects no record names;
//! - [`archive`]: with `--drop-fastapi-archive`, the cutover's archive once its grace
//!   period is over.
//!
//! Running it again changes nothing that the first run left, and several runs at once
//! are safe: a run takes a session-level advisory lock and does nothing while another
//! holds it, and every batch skips rows another transaction has locked.

mod archive;
mod batch;
mod rows;
mod uploads;

pub use batch::{BATCH, MAX_ROWS_PER_TASK, Report};

use anyhow::Context;

use crate::config::{PoolMode, Settings};
use crate::db::Db;
use crate::db::query::Statements;
use crate::storage::Storage;

/// Only one run at a time works (the key spells "maintain").
const LOCK_KEY: i64 = 0x6d61_696e_7461_696e;

/// What a run was asked to do beyond the routine tasks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Drop the FastAPI backend's archive (`fastapi_legacy`) once the cutover is older
    /// than `FASTAPI_ARCHIVE_GRACE_DAYS`.
    pub drop_fastapi_archive: bool,
}

/// One pass of every task, on the database (and storage, when configured) of `settings`.
pub async fn run(settings: &Settings, options: Options) -> anyhow::Result<Report> {
    anyhow::ensure!(
        settings.database.pool_mode == PoolMode::Session,
        "maintain needs a session-mode database connection (DATABASE_POOL_MODE=session, as \
         migrate does): it holds an advisory lock for the run"
    );
    let db = Db::connect_lazy(&settings.database)?;
    let mut lock = db.acquire().await.context("connecting to the database")?;
    let locked: bool = db
        .query_scalar("select pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        let why = "another maintain run holds the lock".to_owned();
        tracing::info!(why, "maintain: nothing done");
        return Ok(Report {
            skipped: Some(why),
            ..Report::default()
        });
    }
    let storage = settings.storage.as_ref().map(Storage::new);
    let report = tasks(&db, storage.as_ref(), settings, options).await;
    db.query("select pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *lock)
        .await?;
    let report = report?;
    let total: u64 = report.removed.iter().map(|(_, n)| n).sum();
    tracing::info!(total, "maintain: done");
    Ok(report)
}

async fn tasks(
    db: &Db,
    storage: Option<&Storage>,
    settings: &Settings,
    options: Options,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    rows::all(db, &settings.maintenance, &mut report).await?;
    match storage {
        Some(storage) => {
            let ttl = storage.signed_url_ttl();
            uploads::pending(db, storage, ttl, &mut report).await?;
            uploads::sweep(db, storage, ttl, &mut report).await?;
        }
        None => tracing::info!("maintain: no storage configured, uploads not swept"),
    }
    if options.drop_fastapi_archive {
        archive::drop_when_due(db, settings.maintenance.archive_grace_days, &mut report).await?;
    }
    Ok(report)
}
