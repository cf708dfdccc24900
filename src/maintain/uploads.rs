//! Uploads that never became photos: presigned uploads never completed, and objects in
//! `user-uploads` that no record names (a file sent to an upload URL after `complete`,
//! after its record or its account was deleted, or under a deleted account's folder),
//! which would otherwise escape every per-user limit.

use std::time::Duration;

use uuid::Uuid;

use super::batch::{BATCH, MAX_ROWS_PER_TASK, Report};
use crate::db::Db;
use crate::db::query::Statements;
use crate::storage::{self, Storage, USER_UPLOADS};

/// After its upload URL expires, how long an upload has to be completed; also how old an
/// object must be before the sweep may take it for one nobody will claim.
const GRACE: Duration = Duration::from_secs(3600);
/// Keys the sweep looks at in one run (the next run goes on from there).
const SWEEP_KEYS_PER_RUN: usize = 10_000;
const SWEEP_STATE: &str = "upload_sweep";

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Upload records still pending when their URL has long expired: their objects (staging
/// and final) and the records go.
pub(super) async fn pending(
    db: &Db,
    storage: &Storage,
    url_ttl: Duration,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut removed = 0u64;
    while removed < MAX_ROWS_PER_TASK {
        let expired: Vec<(Uuid, Uuid, String, String)> = db
            .with_conn(async |c| {
                db.query_as(
                    "select id, owner_id, content_type, path from public.media_assets \
                     where status = 'pending' and bucket = 'user-uploads' and owner_id is not null \
                       and created_at < now() - make_interval(secs => $2) \
                     order by created_at limit $1",
                )
                .bind(BATCH)
                .bind(seconds(url_ttl + GRACE))
                .fetch_all(c)
                .await
            })
            .await?;
        for (id, owner, content_type, path) in &expired {
            storage
                .delete(
                    USER_UPLOADS.name,
                    &storage::staging_key(*owner, *id, content_type),
                )
                .await?;
            // Only a key the service derives for this owner and asset (never a path a
            // record merely names) is deleted.
            if let Some(key) = storage::own_upload_key(*owner, *id, content_type, path) {
                storage.delete(USER_UPLOADS.name, &key).await?;
            }
        }
        let ids: Vec<Uuid> = expired.iter().map(|(id, ..)| *id).collect();
        let deleted = db
            .with_conn(async |c| {
                db.query(
                    "delete from public.media_assets where id = any($1) and status = 'pending'",
                )
                .bind(&ids)
                .execute(c)
                .await
            })
            .await?;
        removed += deleted.rows_affected();
        if expired.len() < BATCH as usize {
            break;
        }
    }
    report.record("pending_uploads", removed);
    Ok(())
}

/// Walks `user-uploads` from where the last run stopped and removes old objects no
/// record names: staging keys past their upload's life, other keys with no record.
pub(super) async fn sweep(
    db: &Db,
    storage: &Storage,
    url_ttl: Duration,
    report: &mut Report,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let old_staging = now - chrono::Duration::from_std(url_ttl + GRACE)?;
    let old_object = now - chrono::Duration::from_std(GRACE)?;
    let mut after = position(db).await?;
    let (mut seen, mut removed) = (0usize, 0u64);
    while seen < SWEEP_KEYS_PER_RUN {
        let page = storage
            .list_after(USER_UPLOADS.name, after.as_deref(), 1000)
            .await?;
        seen += page.len();
        let staging = |key: &str| key.split('/').nth(1) == Some("incoming");
        let old =
            |listed: &storage::Listed, before| listed.last_modified.is_some_and(|t| t < before);
        let candidates: Vec<String> = page
            .iter()
            .filter(|o| !staging(&o.key) && old(o, old_object))
            .map(|o| o.key.clone())
            .collect();
        let recorded: Vec<String> = db
            .with_conn(async |c| {
                db.query_scalar(
                    "select path from public.media_assets where bucket = 'user-uploads' and path = any($1)",
                )
                .bind(&candidates)
                .fetch_all(c)
                .await
            })
            .await?;
        for object in &page {
            let orphan = if staging(&object.key) {
                old(object, old_staging)
            } else {
                candidates.contains(&object.key) && !recorded.contains(&object.key)
            };
            if orphan {
                storage.delete(USER_UPLOADS.name, &object.key).await?;
                tracing::info!(key = %object.key, "maintain: removed an upload no record names");
                removed += 1;
            }
        }
        let full = page.len() == 1000;
        after = if full {
            page.last().map(|o| o.key.clone())
        } else {
            None
        };
        if !full {
            break;
        }
    }
    save_position(db, after.as_deref()).await?;
    report.record("unclaimed_uploads", removed);
    Ok(())
}

async fn position(db: &Db) -> Result<Option<String>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_scalar("select value from public.maintenance_state where name = $1")
            .bind(SWEEP_STATE)
            .fetch_optional(c)
            .await
    })
    .await
    .map(Option::flatten)
}

/// Where the next run goes on from (`None`: the start of the bucket).
async fn save_position(db: &Db, after: Option<&str>) -> Result<(), sqlx::Error> {
    db.with_conn(async |c| {
        db.query(
            "insert into public.maintenance_state (name, value) values ($1, $2) \
             on conflict (name) do update set value = excluded.value, updated_at = now()",
        )
        .bind(SWEEP_STATE)
        .bind(after)
        .execute(c)
        .await
    })
    .await?;
    Ok(())
}
