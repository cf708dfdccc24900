//! What changed for the caller since a sync position: favorites and history upserts
//! and deletions (in change-version order) and catalog changes.

use super::query::Statements;
use crate::domain::cursor::CursorKey;
use crate::domain::machine_id::MachineId;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;
use super::machines::machine_columns;
use super::rls::UserTx;
use crate::domain::machine::Machine;

/// One change to the caller's data; which fields are set depends on `kind`/`deleted`.
#[derive(Debug, FromRow)]
pub struct UserChange {
    pub kind: String,
    pub version: i64,
    pub deleted: bool,
    /// The machine id of a favorite, or the id of a history entry.
    pub entity_id: String,
    /// The machine of a favorite or history entry (not of a deletion).
    pub machine_id: Option<MachineId>,
    pub notes: Option<String>,
    pub confidence: Option<f32>,
    pub source: Option<String>,
    pub photo_uri: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Up to `limit` changes after `since`, oldest first. Versions are unique per user and
/// become visible in order (the user row is locked while one is taken), so reading
/// "after the last version seen" never skips one.
#[tracing::instrument(skip(tx))]
pub async fn user_changes(
    tx: &mut UserTx,
    since: i64,
    limit: i64,
) -> Result<Vec<UserChange>, sqlx::Error> {
    tx.query_as(
        "select * from ( \
           select 'favorite' as kind, f.sync_version as version, false as deleted, \
                  f.machine_id as entity_id, f.machine_id, f.notes, null::real as confidence, \
                  null::text as source, null::text as photo_uri, null::timestamptz as taken_at, \
                  f.created_at, f.updated_at \
             from public.favorites f \
            where f.user_id = (select auth.uid()) and f.sync_version > $1 \
           union all \
           select 'history', h.sync_version, false, h.id::text, h.machine_id, null, h.confidence, \
                  h.source, h.photo_uri, h.taken_at, h.created_at, h.updated_at \
             from public.history h \
            where h.user_id = (select auth.uid()) and h.sync_version > $1 \
           union all \
           select t.entity, t.sync_version, true, t.entity_id, null, null, null, null, null, null, \
                  null, t.deleted_at \
             from public.sync_tombstones t \
            where t.user_id = (select auth.uid()) and t.sync_version > $1 \
         ) changes order by version limit $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(tx.conn())
    .await
}

/// The highest change version whose tombstone housekeeping purged for the caller (0 when
/// none was): a cursor older than it may have missed a deletion.
pub async fn purged_through(tx: &mut UserTx) -> Result<i64, sqlx::Error> {
    tx.query_scalar(
        "select coalesce((select purged_through from public.sync_floors \
                          where user_id = (select auth.uid())), 0)",
    )
    .fetch_one(tx.conn())
    .await
}

#[derive(FromRow)]
pub struct MachineChange {
    #[sqlx(flatten)]
    pub machine: Machine,
    pub catalog_version: i64,
}

/// Up to `limit` machines changed after catalog version `since`, oldest change first.
#[tracing::instrument(skip(db))]
pub async fn catalog_changes(
    db: &Db,
    since: i64,
    limit: i64,
) -> Result<Vec<MachineChange>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(concat!(
            "select ",
            machine_columns!(),
            ", m.catalog_version from public.machines m where m.catalog_version > $1 \
         order by m.catalog_version limit $2"
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(c)
        .await
    })
    .await
}

/// The key that signs sync cursors, read from Postgres on first use (one secret shared
/// by every instance, created by a migration).
#[derive(Default)]
pub struct CursorKeys(tokio::sync::OnceCell<CursorKey>);

impl CursorKeys {
    pub async fn get(&self, db: &Db) -> Result<&CursorKey, sqlx::Error> {
        self.0
            .get_or_try_init(|| async {
                db.with_conn(async |c| {
                    db.query_scalar::<Vec<u8>>(
                        "select value from public.app_secrets where name = 'sync_cursor'",
                    )
                    .fetch_one(c)
                    .await
                })
                .await
                .map(|secret| CursorKey::new(&secret))
            })
            .await
    }
}
