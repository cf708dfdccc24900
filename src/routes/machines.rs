//! The public catalog.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db;
use crate::domain::machine::{Machine, MachineFilter, MachineListQuery};
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MachineList {
    pub machines: Vec<Machine>,
    /// How many machines match the filters in all.
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// List machines with filters and pagination: by name, or best match first with `search`.
#[utoipa::path(get, path = "/api/v1/machines", 
    tag = "machines",
    params(MachineListQuery),
    responses(
        (status = 200, body = MachineList, description = "With `ETag` and `Cache-Control`"),
        (status = 304, description = "`If-None-Match` names the current version"),
        (status = 422, body = ErrorBody, description = "Invalid query parameters"),
    )
)]
pub async fn list_machines(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: MachineFilter,
) -> ApiResult<HttpResponse> {
    let key = format!("list|{filter:?}");
    state
        .catalog
        .respond(&req, &key, async || {
            let (machines, total) = db::machines::list(&state.db, &filter).await?;
            Ok(MachineList {
                machines,
                total,
                page: filter.page.page(),
                page_size: filter.page.page_size(),
            })
        })
        .await
}

/// Distinct categories of active machines.
#[utoipa::path(get, path = "/api/v1/machines/categories/list", 
    tag = "machines",
    responses((status = 200, body = Vec<String>, example = json!(["Arms", "Back", "Cardio"])))
)]
pub async fn list_categories(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    state
        .catalog
        .respond(&req, "categories", async || {
            Ok(db::machines::categories(&state.db).await?)
        })
        .await
}

/// Distinct difficulties of active machines, easiest first.
#[utoipa::path(get, path = "/api/v1/machines/difficulties/list", 
    tag = "machines",
    responses((status = 200, body = Vec<String>, example = json!(["Beginner", "Intermediate", "Advanced"])))
)]
pub async fn list_difficulties(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    state
        .catalog
        .respond(&req, "difficulties", async || {
            Ok(db::machines::difficulties(&state.db).await?)
        })
        .await
}

/// One machine by id (active or retired).
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}", 
    tag = "machines",
    params(("machine_id" = String, Path, description = "Machine slug, e.g. `leg_press`")),
    responses(
        (status = 200, body = Machine),
        (status = 404, body = ErrorBody, example = json!({"detail": "Machine not found", "code": "not_found"})),
    )
)]
pub async fn get_machine(
    state: web::Data<AppState>,
    req: HttpRequest,
    machine_id: web::Path<MachineId>,
) -> ApiResult<HttpResponse> {
    let id = machine_id.into_inner();
    state
        .catalog
        .respond(&req, &format!("machine|{id}"), async || {
            db::machines::get(&state.db, &id)
                .await?
                .ok_or_else(|| ApiError::not_found("Machine"))
        })
        .await
}
