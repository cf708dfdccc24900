//! The caller's favorite machines (bearer required; RLS path). Like every handler
//! module, it holds the types the API reads and answers (they derive `Deserialize` as
//! well, so tests read answers into them); `crate::db` returns rows, mapped here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;

use super::shared::Deleted;
use crate::auth::AuthUser;
use crate::db::embed::{EmbeddedMachine, MachineIndex, WithMachine};
use crate::db::favorites::{self, FavoriteRow};
use crate::db::rls::UserTx;
use crate::domain::bounded::Notes;
use crate::domain::bounded::schema::Null;
use crate::domain::machine::Machine;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt};
use crate::extract::{ApiJson, Writer};
use crate::idempotency::{self, Guarded, IdempotencyKey, Replayable};
use crate::state::AppState;

/// A favorite with its machine embedded, as the app shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Favorite {
    #[schema(value_type = String)]
    pub machine_id: MachineId,
    pub created_at: DateTime<Utc>,
    pub notes: Option<String>,
    pub updated_at: DateTime<Utc>,
    #[schema(value_type = Machine)]
    pub machine: EmbeddedMachine,
}

impl From<WithMachine<FavoriteRow>> for Favorite {
    fn from((row, machine): WithMachine<FavoriteRow>) -> Self {
        Favorite {
            machine_id: row.machine_id,
            created_at: row.created_at,
            notes: row.notes,
            updated_at: row.updated_at,
            machine,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FavoriteList {
    /// Newest first.
    pub favorites: Vec<Favorite>,
    pub total: usize,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFavorite {
    #[schema(value_type = String, example = "leg_press", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    #[serde(default)]
    #[schema(schema_with = notes_schema)]
    pub notes: Option<Notes>,
}

fn notes_schema() -> Object {
    Notes::schema(Null::Allowed)
        .description(Some(Notes::limit()))
        .build()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FavoriteUpdate {
    /// New notes; `null` or absent clears them.
    #[serde(default)]
    #[schema(schema_with = new_notes_schema)]
    pub notes: Option<Notes>,
}

fn new_notes_schema() -> Object {
    Notes::schema(Null::Allowed)
        .description(Some(format!(
            "New notes; `null` or absent clears them. {}",
            Notes::limit()
        )))
        .build()
}

/// A replay reads the favorite back by its machine id, with its notes as they are now.
impl Replayable for Favorite {
    fn kept(&self) -> serde_json::Value {
        serde_json::json!(self.machine_id)
    }

    async fn replay(
        tx: &mut UserTx,
        machines: &MachineIndex,
        kept: serde_json::Value,
    ) -> Result<Option<Self>, sqlx::Error> {
        match kept.as_str() {
            Some(id) => Ok(favorites::get(tx, machines, id).await?.map(Favorite::from)),
            None => Ok(None),
        }
    }
}

fn favorite_not_found() -> ApiError {
    ApiError::NotFound("Favorite not found".into())
}

/// The caller's favorites, newest first, each with its machine.
#[utoipa::path(get, path = "/api/v1/favorites", tag = "favorites",
    security(("bearer_auth" = [])),
    responses((status = 200, body = FavoriteList), (status = 401, body = ErrorBody))
)]
pub async fn list_favorites(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<FavoriteList>> {
    // The catalog first: it may take a pooled connection of its own, so never inside the
    // caller's transaction.
    let machines = state.catalog.machines().await?;
    let favorites: Vec<Favorite> = favorites::list(&state.db, &user.claims_json, &machines)
        .await?
        .into_iter()
        .map(Favorite::from)
        .collect();
    Ok(web::Json(FavoriteList {
        total: favorites.len(),
        favorites,
    }))
}

/// Add a machine to the caller's favorites. Safe to retry with `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/favorites", tag = "favorites",
    security(("bearer_auth" = [])),
    params(IdempotencyKey),
    request_body = NewFavorite,
    responses(
        (status = 201, body = Favorite),
        (status = 404, body = ErrorBody, description = "Unknown machine"),
        (status = 409, body = ErrorBody, example = json!({"detail": "Machine already in favorites", "code": "conflict"})),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "2,000 Idempotency-Keys in 24 hours; see Retry-After"),
    )
)]
pub async fn add_favorite(
    state: web::Data<AppState>,
    user: Writer,
    key: IdempotencyKey,
    req: HttpRequest,
    body: ApiJson<NewFavorite>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let notes = body.notes.as_deref();
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
            favorites::add(tx, &machines, &body.machine_id, notes)
                .await
                .map(Favorite::from)
                .on_constraint("favorites_pkey", || {
                    ApiError::Conflict("Machine already in favorites".into())
                })
                .on_constraint("favorites_machine_id_fkey", || {
                    ApiError::not_found("Machine")
                })
        },
    )
    .await
}

/// One favorite.
#[utoipa::path(get, path = "/api/v1/favorites/{machine_id}", tag = "favorites",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    responses((status = 200, body = Favorite), (status = 404, body = ErrorBody))
)]
pub async fn get_favorite(
    state: web::Data<AppState>,
    user: AuthUser,
    machine_id: web::Path<MachineId>,
) -> ApiResult<web::Json<Favorite>> {
    let machines = state.catalog.machines().await?;
    let favorite = UserTx::run(&state.db, &user.claims_json, async |tx| {
        favorites::get(tx, &machines, &machine_id).await
    })
    .await?;
    favorite
        .map(|f| web::Json(Favorite::from(f)))
        .ok_or_else(favorite_not_found)
}

/// Change a favorite's notes.
#[utoipa::path(patch, path = "/api/v1/favorites/{machine_id}", tag = "favorites",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    request_body = FavoriteUpdate,
    responses((status = 200, body = Favorite), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn update_favorite(
    state: web::Data<AppState>,
    user: Writer,
    machine_id: web::Path<MachineId>,
    body: ApiJson<FavoriteUpdate>,
) -> ApiResult<web::Json<Favorite>> {
    let machines = state.catalog.machines().await?;
    let favorite = UserTx::run(&state.db, &user.claims_json, async |tx| {
        favorites::set_notes(tx, &machines, &machine_id, body.notes.as_deref()).await
    })
    .await?;
    favorite
        .map(|f| web::Json(Favorite::from(f)))
        .ok_or_else(favorite_not_found)
}

/// Remove one favorite.
#[utoipa::path(delete, path = "/api/v1/favorites/{machine_id}", tag = "favorites",
    security(("bearer_auth" = [])),
    params(("machine_id" = String, Path)),
    responses((status = 200, body = Deleted, example = json!({"deleted": 1})), (status = 404, body = ErrorBody))
)]
pub async fn delete_favorite(
    state: web::Data<AppState>,
    user: Writer,
    machine_id: web::Path<MachineId>,
) -> ApiResult<HttpResponse> {
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        favorites::remove(tx, &machine_id).await
    })
    .await?;
    if removed {
        Ok(Deleted::response(1))
    } else {
        Err(favorite_not_found())
    }
}

/// Remove all of the caller's favorites.
#[utoipa::path(delete, path = "/api/v1/favorites", tag = "favorites",
    security(("bearer_auth" = [])),
    responses((status = 200, body = Deleted, description = "How many favorites were removed", example = json!({"deleted": 3})), (status = 401, body = ErrorBody))
)]
pub async fn clear_favorites(state: web::Data<AppState>, user: Writer) -> ApiResult<HttpResponse> {
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        favorites::clear(tx).await
    })
    .await?;
    Ok(Deleted::response(removed))
}
