//! The caller's identification history (bearer required; RLS path): reading and
//! removing entries here, recording them in [`write`] (what a new entry may hold:
//! [`body`]; an entry as answered: [`entry`]).

pub mod body;
pub mod entry;
pub mod write;

pub use entry::HistoryEntry;

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::history;
use crate::db::limits;
use crate::db::rls::UserTx;
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationIssue};
use crate::extract::{QueryParams, Writer};
use crate::routes::shared::{Deleted, within_rate};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// Newest `taken_at` first.
    pub history: Vec<HistoryEntry>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
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
    #[param(pattern = "^[a-z0-9][a-z0-9_]{1,62}$", example = "leg_press")]
    machine_id: Option<String>,
}

pub struct HistoryFilter {
    page: PageRequest,
    machine_id: Option<MachineId>,
}

impl FromRequest for HistoryFilter {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut q = QueryParams::parse(req.query_string());
        let page = q.page();
        // An id no machine could have is refused, as in a favorite's body.
        let machine_id = q
            .text("machine_id", 64)
            .and_then(|raw| match MachineId::try_from(raw) {
                Ok(id) => Some(id),
                Err(why) => {
                    q.issue("machine_id", "value_error", why.to_string());
                    None
                }
            });
        let filter = HistoryFilter { page, machine_id };
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

pub(super) fn entry_not_found() -> ApiError {
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
    let machines = state.catalog.machines().await?;
    let (history, total) = history::list(
        &state.db,
        &user.claims_json,
        &machines,
        filter.page,
        filter.machine_id.as_deref(),
    )
    .await?;
    Ok(web::Json(HistoryPage {
        history: history.into_iter().map(HistoryEntry::from).collect(),
        total,
        page: filter.page.page(),
        page_size: filter.page.page_size(),
    }))
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
    entry
        .map(|e| web::Json(HistoryEntry::from(e)))
        .ok_or_else(entry_not_found)
}

/// Remove one history entry.
#[utoipa::path(delete, path = "/api/v1/history/{history_id}", tag = "history",
    security(("bearer_auth" = [])),
    params(("history_id" = Uuid, Path)),
    responses((status = 200, body = Deleted, example = json!({"deleted": 1})), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody, description = "300 history writes a minute; see Retry-After"))
)]
pub async fn delete_history(
    state: web::Data<AppState>,
    user: Writer,
    history_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = entry_id(&history_id)?;
    within_rate(&state.db, user.id, &limits::HISTORY_WRITE).await?;
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
pub async fn clear_history(state: web::Data<AppState>, user: Writer) -> ApiResult<HttpResponse> {
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        history::clear(tx).await
    })
    .await?;
    Ok(Deleted::response(removed))
}
