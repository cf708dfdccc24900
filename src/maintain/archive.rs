//! The cutover's archive (`fastapi_legacy`, docs/cutover.md): the FastAPI backend's
//! tables as they were, kept for a rollback and read by nothing. Asked to, and once the
//! cutover is older than the grace period, it is dropped whole; never a part of it.

use super::batch::Report;
use crate::db::Db;
use crate::db::query::Statements;

pub(super) async fn drop_when_due(
    db: &Db,
    grace_days: u32,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (exists, cut_over_days): (bool, Option<f64>) = db
        .with_conn(async |c| {
            let exists: bool = db
                .query_scalar("select to_regnamespace('fastapi_legacy') is not null")
                .fetch_one(&mut *c)
                .await?;
            let recorded: bool = db
                .query_scalar("select to_regclass('fastapi_legacy.cutover') is not null")
                .fetch_one(&mut *c)
                .await?;
            let days = if recorded {
                db.query_scalar(
                    "select extract(epoch from now() - max(cutover_at))::float8 / 86400 \
                     from fastapi_legacy.cutover",
                )
                .fetch_one(&mut *c)
                .await?
            } else {
                None
            };
            Ok((exists, days))
        })
        .await?;
    if !exists {
        tracing::info!("maintain: there is no FastAPI archive to drop");
        report.record("fastapi_archive", 0);
        return Ok(());
    }
    let Some(days) = cut_over_days else {
        anyhow::bail!(
            "fastapi_legacy has no record of when the cutover happened (fastapi_legacy.cutover): \
             not dropped; see docs/cutover.md"
        );
    };
    if days < f64::from(grace_days) {
        tracing::info!(
            cut_over_days_ago = days.floor(),
            grace_days,
            "maintain: the FastAPI archive is kept until its grace period is over"
        );
        report.record("fastapi_archive", 0);
        return Ok(());
    }
    db.with_conn(async |c| {
        db.query("drop schema fastapi_legacy cascade")
            .execute(c)
            .await
    })
    .await?;
    tracing::warn!(
        cut_over_days_ago = days.floor(),
        "maintain: dropped the FastAPI archive (schema fastapi_legacy)"
    );
    report.record("fastapi_archive", 1);
    Ok(())
}
