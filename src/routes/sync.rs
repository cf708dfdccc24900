//! Offline sync: what changed for the caller since a cursor, and a new cursor.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::shared::within_rate;
use crate::auth::AuthUser;
use crate::db;
use crate::db::sync::UserChange;
use crate::domain::cursor::SyncPosition;
use crate::domain::machine::Machine;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationIssue};
use crate::extract::QueryParams;
use crate::state::AppState;

/// Most user changes and machines in one answer (`has_more` says when to call again).
const USER_CHANGES_PER_PAGE: usize = 500;
const MACHINES_PER_PAGE: usize = 200;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FavoriteRecord {
    #[schema(value_type = String)]
    pub machine_id: MachineId,
    pub notes: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryRecord {
    pub id: String,
    #[schema(value_type = Option<String>)]
    pub machine_id: Option<MachineId>,
    pub confidence: Option<f32>,
    pub source: Option<String>,
    pub photo_uri: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct FavoriteChanges {
    pub upserted: Vec<FavoriteRecord>,
    /// Machine ids no longer favorited.
    pub deleted: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct HistoryChanges {
    pub upserted: Vec<HistoryRecord>,
    /// Ids of deleted history entries.
    pub deleted: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
pub struct MachineChanges {
    /// Created or changed machines (retired ones have `is_active: false`).
    pub upserted: Vec<Machine>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncResponse {
    /// Opaque; send it as `since` next time.
    pub cursor: String,
    /// This answer starts from nothing: the cursor sent was older than the deletions the
    /// service still remembers (kept `SYNC_TOMBSTONE_RETENTION_DAYS`), so drop the
    /// favorites and history held from earlier syncs before applying it.
    pub reset: bool,
    /// More changes are waiting: call again with the new cursor straight away.
    pub has_more: bool,
    pub favorites: FavoriteChanges,
    pub history: HistoryChanges,
    pub machines: MachineChanges,
}

/// Query parameters of `GET /api/v1/sync`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SyncQuery {
    /// The cursor of the previous sync; omit it for everything.
    since: Option<String>,
}

pub struct Since(Option<String>);

impl FromRequest for Since {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut q = QueryParams::parse(req.query_string());
        let since = q.text("since", 1024);
        ready(q.finish(Since(since)))
    }
}

fn bad_cursor() -> ApiError {
    ApiError::Validation(vec![ValidationIssue::query(
        "since",
        "invalid_cursor",
        "Invalid sync cursor: sync again without `since`",
    )])
}

fn split(changes: Vec<UserChange>) -> (FavoriteChanges, HistoryChanges) {
    let (mut favorites, mut history) = (FavoriteChanges::default(), HistoryChanges::default());
    for c in changes {
        match (c.kind.as_str(), c.deleted) {
            ("favorite", true) => favorites.deleted.push(c.entity_id),
            ("favorite", false) => favorites.upserted.extend(c.machine_id.map(|machine_id| {
                // Always there: a favorite's machine id is its key.
                FavoriteRecord {
                    machine_id,
                    notes: c.notes,
                    created_at: c.created_at,
                    updated_at: c.updated_at,
                }
            })),
            (_, true) => history.deleted.push(c.entity_id),
            (_, false) => history.upserted.push(HistoryRecord {
                id: c.entity_id,
                machine_id: c.machine_id,
                confidence: c.confidence,
                source: c.source,
                photo_uri: c.photo_uri,
                taken_at: c.taken_at,
                created_at: c.created_at,
            }),
        }
    }
    (favorites, history)
}

/// Up to a page (and one more) of the caller's changes after `since`, and the highest
/// change version whose tombstone was purged.
async fn user_changes(
    state: &AppState,
    user: &AuthUser,
    since: i64,
) -> ApiResult<(Vec<UserChange>, i64)> {
    Ok(db::sync::user_changes(
        &state.db,
        &user.claims_json,
        since,
        USER_CHANGES_PER_PAGE as i64 + 1,
    )
    .await?)
}

/// Changes to the caller's favorites and history (upserts and deletions) and to the
/// catalog since `since`, with a new cursor.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync",
    security(("bearer_auth" = [])),
    params(SyncQuery),
    responses(
        (status = 200, body = SyncResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "A cursor that is not intact or not the caller's"),
        (status = 429, body = ErrorBody, description = "Thirty full syncs (without `since`) an hour; see Retry-After"),
    )
)]
pub async fn sync(
    state: web::Data<AppState>,
    user: AuthUser,
    since: Since,
) -> ApiResult<web::Json<SyncResponse>> {
    if since.0.is_none() {
        within_rate(&state.db, user.id, &crate::db::limits::FULL_SYNC).await?;
    }
    let key = state.cursor_keys.get(&state.db).await?;
    let mut since = match since.0 {
        None => SyncPosition {
            user_version: 0,
            catalog_version: 0,
            purged_seen: 0,
        },
        Some(cursor) => key.decode(user.id, &cursor).ok_or_else(bad_cursor)?,
    };

    let (mut changes, purged_through) = user_changes(&state, &user, since.user_version).await?;
    // A cursor from before the last purge of tombstones may have missed deletions: it
    // syncs from the start (and counts as a full sync), flagged so the device starts over.
    let reset =
        since.user_version > 0 && since.user_version.max(since.purged_seen) < purged_through;
    if reset {
        within_rate(&state.db, user.id, &crate::db::limits::FULL_SYNC).await?;
        since.user_version = 0;
        changes = user_changes(&state, &user, 0).await?.0;
    }
    // The catalog as this instance knows it (at most `CATALOG_MAX_STALENESS_MS` old, as
    // every catalog answer is): nothing to read when the cursor is already there, as it
    // is on almost every incremental sync. A change newer than that is not skipped: the
    // cursor stays where it was, and the next sync reads it.
    let mut machines = if since.catalog_version < state.catalog.version().await? {
        db::sync::catalog_changes(
            &state.db,
            since.catalog_version,
            MACHINES_PER_PAGE as i64 + 1,
        )
        .await?
    } else {
        Vec::new()
    };

    let has_more = changes.len() > USER_CHANGES_PER_PAGE || machines.len() > MACHINES_PER_PAGE;
    changes.truncate(USER_CHANGES_PER_PAGE);
    machines.truncate(MACHINES_PER_PAGE);
    let position = SyncPosition {
        user_version: changes.last().map_or(since.user_version, |c| c.version),
        catalog_version: machines
            .last()
            .map_or(since.catalog_version, |m| m.catalog_version),
        // Everything up to the floor is accounted for now: from the start, from a cursor
        // past it, or on a later page of a reset.
        purged_seen: purged_through,
    };
    let (favorites, history) = split(changes);
    Ok(web::Json(SyncResponse {
        cursor: key.encode(user.id, position),
        reset,
        has_more,
        favorites,
        history,
        machines: MachineChanges {
            upserted: machines.into_iter().map(|m| m.machine).collect(),
        },
    }))
}
