//! The public catalog.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::domain::machine::{CATEGORIES, DIFFICULTIES, Machine, MachineFilter};
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MachineList {
    pub machines: Vec<Machine>,
    /// How many machines match the filters in all.
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// Query parameters of `GET /api/v1/machines` (documentation; read by [`machine_filter`]).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MachineListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000, default = 1)]
    page: Option<u32>,
    /// Machines per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    page_size: Option<u32>,
    /// Only this category (`category_param` describes it).
    #[param(schema_with = category_param)]
    category: Option<String>,
    /// Only this difficulty (`difficulty_param` describes it).
    #[param(schema_with = difficulty_param)]
    difficulty: Option<String>,
    /// Words to look for, in any case: matched against each machine's name first, then
    /// its other names, muscles, tags and category, forgiving typos (`tredmill` finds the
    /// treadmill, `pec fly` the pec deck); best matches first.
    #[param(max_length = 100, example = "leg press")]
    search: Option<String>,
    /// Repeatable; a machine must carry every tag given.
    tags: Option<Vec<String>>,
    /// Active (default) or retired machines.
    #[param(default = true)]
    is_active: Option<bool>,
}

/// A query parameter that takes one of `allowed` (the explorer offers them as a list).
/// utoipa leaves a parameter's doc comment out when its schema is given, so the schema
/// carries the description.
fn one_of(allowed: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(allowed.iter().copied()))
        .description(Some(description))
        .build()
}

fn category_param() -> Object {
    one_of(&CATEGORIES, "Only this category (any case).")
}

fn difficulty_param() -> Object {
    one_of(&DIFFICULTIES, "Only this difficulty (any case).")
}

/// The list route's query string as a [`MachineFilter`], or a 422 naming every bad
/// parameter.
fn machine_filter(query_string: &str) -> Result<MachineFilter, ApiError> {
    let mut q = QueryParams::parse(query_string);
    let filter = MachineFilter {
        page: q.page(),
        category: q.choice("category", &CATEGORIES),
        difficulty: q.choice("difficulty", &DIFFICULTIES),
        search: q.text("search", 100),
        tags: q
            .list("tags", 10, 50)
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect(),
        is_active: q.boolean("is_active", true),
    };
    q.finish(filter)
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
) -> ApiResult<HttpResponse> {
    let filter = machine_filter(req.query_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parsed_and_normalised() {
        let f = machine_filter(
            "category=lower%20body&difficulty=bEGINNER&tags=Legs&tags=push&search=%20press%20&is_active=false",
        )
        .unwrap();
        assert_eq!(f.category, Some("Lower Body"));
        assert_eq!(f.difficulty, Some("Beginner"));
        assert_eq!(f.tags, ["legs", "push"]);
        assert_eq!(f.search.as_deref(), Some("press"));
        assert!(!f.is_active);
    }

    #[test]
    fn every_bad_parameter_is_reported_at_once() {
        let Err(ApiError::Validation(issues)) =
            machine_filter("page_size=101&difficulty=expert&is_active=maybe")
        else {
            panic!("expected a validation error");
        };
        assert_eq!(issues.len(), 3);
    }
}
