//! Recording entries: one, or a batch made offline (all or none); both safe to retry.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::{HistoryBatch, HistoryCreate};
use super::entry::HistoryEntry;
use crate::db::embed::MachineIndex;
use crate::db::history::{self, NewEntry};
use crate::db::limits;
use crate::db::rls::UserTx;
use crate::error::{ApiError, ApiResult, ErrorBody, LocItem, ResultExt, ValidationIssue};
use crate::extract::{ApiJson, Writer};
use crate::idempotency::{self, Guarded, IdempotencyKey, Replayable};
use crate::routes::shared::within_rate;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryBatchResult {
    /// The entries, in the order sent.
    pub history: Vec<HistoryEntry>,
    pub total: usize,
}

/// A replay reads the entry back by its id (history entries never change).
impl Replayable for HistoryEntry {
    fn kept(&self) -> serde_json::Value {
        serde_json::json!(self.id)
    }

    async fn replay(
        tx: &mut UserTx,
        machines: &MachineIndex,
        kept: serde_json::Value,
    ) -> Result<Option<Self>, sqlx::Error> {
        match serde_json::from_value(kept) {
            Ok(id) => Ok(history::get(tx, machines, id)
                .await?
                .map(HistoryEntry::from)),
            Err(_) => Ok(None),
        }
    }
}

/// A replay reads the batch's entries back by their ids (100 at most: 4 KB kept), in
/// the order sent; one deleted since is left out.
impl Replayable for HistoryBatchResult {
    fn kept(&self) -> serde_json::Value {
        serde_json::json!(self.history.iter().map(|e| e.id).collect::<Vec<_>>())
    }

    async fn replay(
        tx: &mut UserTx,
        machines: &MachineIndex,
        kept: serde_json::Value,
    ) -> Result<Option<Self>, sqlx::Error> {
        let ids: Vec<uuid::Uuid> = serde_json::from_value(kept).unwrap_or_default();
        let mut history = Vec::with_capacity(ids.len());
        for id in ids {
            history.extend(
                history::get(tx, machines, id)
                    .await?
                    .map(HistoryEntry::from),
            );
        }
        Ok(Some(HistoryBatchResult {
            total: history.len(),
            history,
        }))
    }
}

/// How long an identical entry sent again is answered with the first: only for clients
/// that guard their retries with neither a client id nor an `Idempotency-Key` (the
/// shipped app); a new key says the request is a new one.
fn resend_window(state: &AppState, key: &IdempotencyKey) -> std::time::Duration {
    match key.0 {
        Some(_) => std::time::Duration::ZERO,
        None => state.settings.history_dedup_window,
    }
}

/// Records one entry, mapping an unknown machine to 404 and a client id that is
/// already someone else's (invisible under RLS) to 409.
async fn add_entry(
    tx: &mut UserTx,
    machines: &MachineIndex,
    entry: &NewEntry,
    resend_window: std::time::Duration,
) -> ApiResult<HistoryEntry> {
    history::add(tx, machines, entry, resend_window)
        .await
        .map(HistoryEntry::from)
        .on_constraint("history_machine_id_fkey", || ApiError::not_found("Machine"))
        .map_err(|e| match e {
            ApiError::Database(e) if matches!(e.sqlx_error(), sqlx::Error::RowNotFound) => {
                ApiError::Conflict("This history id is already taken".into())
            }
            other => other,
        })
}

/// Record an identification in the caller's history. Safe to retry with
/// `Idempotency-Key` (or a client-chosen `id`).
#[utoipa::path(post, path = "/api/v1/history", tag = "history",
    security(("bearer_auth" = [])),
    params(IdempotencyKey),
    request_body = HistoryCreate,
    responses(
        (status = 201, body = HistoryEntry),
        (status = 404, body = ErrorBody, description = "Unknown machine"),
        (status = 409, body = ErrorBody, description = "The client-chosen `id` is another user's, or a request with this Idempotency-Key is in progress"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "300 history writes a minute, or 2,000 Idempotency-Keys in 24 hours; see Retry-After"),
    )
)]
pub async fn add_history(
    state: web::Data<AppState>,
    user: Writer,
    key: IdempotencyKey,
    req: HttpRequest,
    body: ApiJson<HistoryCreate>,
) -> ApiResult<HttpResponse> {
    within_rate(&state.db, user.id, &limits::HISTORY_WRITE).await?;
    let body = body.into_inner();
    let entry = body.entry();
    let machines = state.catalog.machines().await?;
    idempotency::respond(
        &state.db,
        &user,
        Guarded {
            key: &key,
            http: &req,
            body: &body,
        },
        StatusCode::CREATED,
        &machines,
        async |tx| add_entry(tx, &machines, &entry, resend_window(&state, &key)).await,
    )
    .await
}

/// Record many entries at once (made offline), all or none. Safe to retry.
#[utoipa::path(post, path = "/api/v1/history/batch", tag = "history",
    security(("bearer_auth" = [])),
    params(IdempotencyKey),
    request_body = HistoryBatch,
    responses(
        (status = 201, body = HistoryBatchResult),
        (status = 409, body = ErrorBody, description = "A client-chosen `id` is another user's, or a request with this Idempotency-Key is in progress"),
        (status = 422, body = ErrorBody, description = "Invalid entries, or the history already holds as many entries as it may (10,000)"),
        (status = 429, body = ErrorBody, description = "120 batches a minute, or 2,000 Idempotency-Keys in 24 hours; see Retry-After"),
    )
)]
pub async fn add_history_batch(
    state: web::Data<AppState>,
    user: Writer,
    key: IdempotencyKey,
    req: HttpRequest,
    body: ApiJson<HistoryBatch>,
) -> ApiResult<HttpResponse> {
    within_rate(&state.db, user.id, &limits::HISTORY_BATCH).await?;
    let body = body.into_inner();
    let entries: Vec<NewEntry> = body.entries.iter().map(HistoryCreate::entry).collect();
    let machines = state.catalog.machines().await?;
    idempotency::respond(
        &state.db,
        &user,
        Guarded {
            key: &key,
            http: &req,
            body: &body,
        },
        StatusCode::CREATED,
        &machines,
        async |tx| {
            let ids: Vec<String> = entries.iter().map(|e| e.machine_id.clone()).collect();
            let unknown = history::unknown_machines(tx, &ids).await?;
            if !unknown.is_empty() {
                let issues = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| unknown.contains(&e.machine_id))
                    .map(|(i, _)| {
                        ValidationIssue::new(
                            vec![
                                "body".into(),
                                "entries".into(),
                                LocItem::Index(i),
                                "machine_id".into(),
                            ],
                            "unknown_machine",
                            "Machine not found",
                        )
                    })
                    .collect();
                return Err(ApiError::Validation(issues));
            }
            let mut history = Vec::with_capacity(entries.len());
            for entry in &entries {
                history.push(add_entry(tx, &machines, entry, resend_window(&state, &key)).await?);
            }
            Ok(HistoryBatchResult {
                total: history.len(),
                history,
            })
        },
    )
    .await
}
