//! The caller's identification history (bearer required; RLS path).

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::shared::{Deleted, within_rate};
use crate::auth::AuthUser;
use crate::db::embed::MachineIndex;
use crate::db::history::{self, HistoryEntry, NewEntry};
use crate::db::limits;
use crate::db::rls::UserTx;
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;
use crate::error::{ApiError, ApiResult, ErrorBody, LocItem, ResultExt, ValidationIssue};
use crate::extract::{ApiJson, QueryParams};
use crate::idempotency::{self, IdempotencyKey};
use crate::state::AppState;

/// Most entries one batch may carry.
pub const MAX_BATCH: usize = 100;

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    /// Newest `taken_at` first.
    pub history: Vec<HistoryEntry>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryBatchResult {
    /// The entries, in the order sent.
    pub history: Vec<HistoryEntry>,
    pub total: usize,
}

fn default_source() -> String {
    "backend_api".into()
}

/// A new history entry.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryCreate {
    /// Optional id chosen by the client (offline entries): sending the same id again
    /// records nothing new.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[schema(value_type = String, example = "leg_press", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    /// 0 to 1.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// Where the entry came from (default `backend_api`): 1 to 50 characters, not blank.
    #[serde(default = "default_source")]
    #[schema(min_length = 1, max_length = 50)]
    pub source: String,
    /// At most 2048 characters.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub photo_uri: Option<String>,
    /// When the photo was taken (default: now); not more than a day ahead.
    #[serde(default)]
    pub taken_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryBatch {
    /// 1 to 100 entries.
    #[schema(min_items = 1, max_items = 100)]
    pub entries: Vec<HistoryCreate>,
}

impl HistoryCreate {
    fn validate(&self, loc: &[LocItem], issues: &mut Vec<ValidationIssue>) -> NewEntry {
        let mut issue = |field: &str, kind: &str, msg: String| {
            let mut at = loc.to_vec();
            at.push(field.into());
            issues.push(ValidationIssue::new(at, kind, msg));
        };
        if let Some(c) = self.confidence {
            if c < 0.0 {
                issue(
                    "confidence",
                    "greater_than_equal",
                    "Input should be greater than or equal to 0".into(),
                );
            } else if c > 1.0 {
                issue(
                    "confidence",
                    "less_than_equal",
                    "Input should be less than or equal to 1".into(),
                );
            }
        }
        let source = self.source.trim();
        if !(1..=50).contains(&source.chars().count()) {
            issue(
                "source",
                "string_too_long",
                "String should have 1 to 50 characters".into(),
            );
        }
        if self
            .photo_uri
            .as_ref()
            .is_some_and(|p| p.chars().count() > 2048)
        {
            issue(
                "photo_uri",
                "string_too_long",
                "String should have at most 2048 characters".into(),
            );
        }
        if let Some(t) = self.taken_at
            && (t > Utc::now() + Duration::days(1) || t.timestamp() < 946_684_800)
        {
            issue(
                "taken_at",
                "datetime_range",
                "taken_at must be after 2000 and not in the future".into(),
            );
        }
        NewEntry {
            id: self.id,
            machine_id: self.machine_id.to_string(),
            confidence: self.confidence.map(|c| c as f32),
            source: source.to_owned(),
            photo_uri: self.photo_uri.clone(),
            taken_at: self.taken_at,
        }
    }
}

fn validated(issues: Vec<ValidationIssue>) -> ApiResult<()> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(issues))
    }
}

/// Query parameters of `GET /api/v1/history`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct HistoryQuery {
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    page_size: Option<u32>,
    /// Only entries of this machine.
    machine_id: Option<String>,
}

pub struct HistoryFilter {
    page: PageRequest,
    machine_id: Option<String>,
}

impl FromRequest for HistoryFilter {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut q = QueryParams::parse(req.query_string());
        let filter = HistoryFilter {
            page: PageRequest::from_query(&mut q),
            machine_id: q.text("machine_id", 64),
        };
        ready(q.finish(filter))
    }
}

fn entry_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::Validation(vec![ValidationIssue::new(
            vec!["path".into(), "history_id".into()],
            "uuid_parsing",
            "Input should be a valid UUID",
        )])
    })
}

/// Records one entry, mapping an unknown machine to 404 and a client id that is
/// already someone else's (invisible under RLS) to 409.
async fn add_entry(
    tx: &mut UserTx,
    machines: &MachineIndex,
    entry: &NewEntry,
) -> ApiResult<HistoryEntry> {
    history::add(tx, machines, entry)
        .await
        .on_constraint("history_machine_id_fkey", || ApiError::not_found("Machine"))
        .map_err(|e| match e {
            ApiError::Database(sqlx::Error::RowNotFound) => {
                ApiError::Conflict("This history id is already taken".into())
            }
            other => other,
        })
}

fn entry_not_found() -> ApiError {
    ApiError::NotFound("History entry not found".into())
}

/// The caller's history, newest first, paginated.
#[utoipa::path(get, path = "/api/v1/history", tag = "history",
    security(("bearer_auth" = [])),
    params(HistoryQuery),
    responses((status = 200, body = HistoryPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list_history(
    state: web::Data<AppState>,
    user: AuthUser,
    filter: HistoryFilter,
) -> ApiResult<web::Json<HistoryPage>> {
    let (history, total) = history::list(
        &state.db,
        &user.claims_json,
        &state.catalog,
        filter.page,
        filter.machine_id.as_deref(),
    )
    .await?;
    Ok(web::Json(HistoryPage {
        history,
        total,
        page: filter.page.page(),
        page_size: filter.page.page_size(),
    }))
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
    )
)]
pub async fn add_history(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    req: HttpRequest,
    body: ApiJson<HistoryCreate>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let mut issues = Vec::new();
    let entry = body.validate(&["body".into()], &mut issues);
    validated(issues)?;
    let machines = state.catalog.machines().await?;
    idempotency::respond(
        &state.db,
        &user,
        &key,
        &req,
        &body,
        StatusCode::CREATED,
        async |tx| add_entry(tx, &machines, &entry).await,
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
        (status = 429, body = ErrorBody, description = "120 batches a minute; see Retry-After"),
    )
)]
pub async fn add_history_batch(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    req: HttpRequest,
    body: ApiJson<HistoryBatch>,
) -> ApiResult<HttpResponse> {
    within_rate(&state.db, user.id, &limits::HISTORY_BATCH).await?;
    let body = body.into_inner();
    let mut issues = Vec::new();
    if body.entries.is_empty() || body.entries.len() > MAX_BATCH {
        issues.push(ValidationIssue::new(
            vec!["body".into(), "entries".into()],
            "too_long",
            format!("A batch holds 1 to {MAX_BATCH} entries"),
        ));
    }
    let entries: Vec<NewEntry> = body
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.validate(
                &["body".into(), "entries".into(), LocItem::Index(i)],
                &mut issues,
            )
        })
        .collect();
    validated(issues)?;
    let machines = state.catalog.machines().await?;
    idempotency::respond(
        &state.db,
        &user,
        &key,
        &req,
        &body,
        StatusCode::CREATED,
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
                history.push(add_entry(tx, &machines, entry).await?);
            }
            Ok(HistoryBatchResult {
                total: history.len(),
                history,
            })
        },
    )
    .await
}

/// One history entry.
#[utoipa::path(get, path = "/api/v1/history/{history_id}", tag = "history",
    security(("bearer_auth" = [])),
    params(("history_id" = Uuid, Path)),
    responses((status = 200, body = HistoryEntry), (status = 404, body = ErrorBody))
)]
pub async fn get_history(
    state: web::Data<AppState>,
    user: AuthUser,
    history_id: web::Path<String>,
) -> ApiResult<web::Json<HistoryEntry>> {
    let id = entry_id(&history_id)?;
    let machines = state.catalog.machines().await?;
    let entry = UserTx::run(&state.db, &user.claims_json, async |tx| {
        history::get(tx, &machines, id).await
    })
    .await?;
    entry.map(web::Json).ok_or_else(entry_not_found)
}

/// Remove one history entry.
#[utoipa::path(delete, path = "/api/v1/history/{history_id}", tag = "history",
    security(("bearer_auth" = [])),
    params(("history_id" = Uuid, Path)),
    responses((status = 200, body = Deleted, example = json!({"deleted": 1})), (status = 404, body = ErrorBody))
)]
pub async fn delete_history(
    state: web::Data<AppState>,
    user: AuthUser,
    history_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = entry_id(&history_id)?;
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        history::remove(tx, id).await
    })
    .await?;
    if removed {
        Ok(Deleted::response(1))
    } else {
        Err(entry_not_found())
    }
}

/// Remove all of the caller's history.
#[utoipa::path(delete, path = "/api/v1/history", tag = "history",
    security(("bearer_auth" = [])),
    responses((status = 200, body = Deleted, description = "How many entries were removed", example = json!({"deleted": 12})), (status = 401, body = ErrorBody))
)]
pub async fn clear_history(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        history::clear(tx).await
    })
    .await?;
    Ok(Deleted::response(removed))
}
