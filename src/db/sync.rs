//! What changed for the caller since a sync position: favorites and history upserts
//! and deletions (in change-version order) and catalog changes.

use super::query::Statements;
use crate::domain::cursor::CursorKey;
use crate::domain::machine_id::MachineId;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;
use super::machines::machine_columns;
use super::rls::{ScopedCall, UserTx};
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

/// Up to `limit` changes after `since`, oldest first, and the highest change version
/// whose tombstone housekeeping purged for the caller (0 when none was: a cursor older
/// than it may have missed a deletion). Versions are unique per user and become visible
/// in order (the user row is locked while one is taken), so reading "after the last
/// version seen" never skips one. One statement (migration 20261208000000), whose first
/// row carries the purge floor.
#[tracing::instrument(skip(db, claims))]
pub async fn user_changes(
    db: &Db,
    claims: &str,
    since: i64,
    limit: i64,
) -> Result<(Vec<UserChange>, i64), sqlx::Error> {
    let mut rows: Vec<UserChange> = UserTx::call(
        db,
        claims,
        ScopedCall::new("machinemate_read_changes")
            .int(since)
            .int(limit),
    )
    .await?;
    match rows.first() {
        Some(floor) if floor.kind == PURGED_THROUGH => {
            let purged_through = floor.version;
            rows.remove(0);
            Ok((rows, purged_through))
        }
        _ => Err(sqlx::Error::Protocol(
            "machinemate_read_changes returned no purge floor first".into(),
        )),
    }
}

/// The kind of the first row of `machinemate_read_changes`, which carries the floor.
const PURGED_THROUGH: &str = "purged_through";

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
