//! The caller's account: profile, export, deletion.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;
use uuid::Uuid;

use super::shared::within_rate;
use crate::auth::{AnyAccount, AuthUser, Authenticator, Role};
use crate::db::rls::UserTx;
use crate::db::users::{self, Profile, ProfileChanges};
use crate::db::{export, limits};
use crate::domain::bounded::schema::Null;
use crate::domain::bounded::{AvatarUrl, DisplayName, Preferences};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Writer};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserProfile {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    /// The app's settings for this user (a JSON object).
    #[schema(value_type = Object)]
    pub preferences: Value,
    pub role: Role,
    pub is_anonymous: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserProfile {
    fn new(profile: Profile, user: &AuthUser) -> Self {
        UserProfile {
            id: profile.id,
            email: profile.email.or_else(|| user.email().map(str::to_owned)),
            display_name: profile.display_name,
            avatar_url: profile.avatar_url,
            preferences: profile.preferences,
            role: user.role,
            is_anonymous: user.claims.is_anonymous,
            created_at: profile.created_at,
            updated_at: profile.updated_at,
        }
    }
}

/// Distinguishes an absent field (leave it) from `null` (clear it).
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Fields to change; absent fields are left as they are, `null` clears them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = display_name_schema)]
    pub display_name: Option<Option<DisplayName>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = avatar_url_schema)]
    pub avatar_url: Option<Option<AvatarUrl>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = preferences_schema)]
    pub preferences: Option<Option<Preferences>>,
}

fn display_name_schema() -> Object {
    DisplayName::schema(Null::Allowed)
        .description(Some(format!("{}; `null` clears it.", DisplayName::limit())))
        .build()
}

fn avatar_url_schema() -> Object {
    AvatarUrl::schema(Null::Allowed)
        .description(Some(format!("{}; `null` clears it.", AvatarUrl::limit())))
        .build()
}

fn preferences_schema() -> Object {
    Preferences::schema(Null::Allowed)
        .description(Some(format!(
            "{}, replacing the stored one; `null` resets it to `{{}}`.",
            Preferences::limit()
        )))
        .build()
}

impl UserUpdate {
    fn changes(self) -> ProfileChanges {
        ProfileChanges {
            display_name: self.display_name.map(|n| n.map(String::from)),
            avatar_url: self.avatar_url.map(|u| u.map(String::from)),
            preferences: self
                .preferences
                .map(|p| p.unwrap_or_else(Preferences::empty).into()),
        }
    }
}

async fn profile_of(tx: &mut UserTx) -> ApiResult<Profile> {
    users::get_profile(tx)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, body = UserProfile),
        (status = 401, body = ErrorBody, description = "Missing or invalid token"),
    )
)]
pub async fn get_me(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<UserProfile>> {
    let profile = UserTx::run(&state.db, &user.claims_json, async |tx| {
        profile_of(tx).await
    })
    .await?;
    Ok(web::Json(UserProfile::new(profile, &user)))
}

/// Change the caller's display name, avatar URL or preferences.
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users",
    security(("bearer_auth" = [])),
    request_body = UserUpdate,
    responses(
        (status = 200, body = UserProfile),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Invalid fields"),
    )
)]
pub async fn update_me(
    state: web::Data<AppState>,
    user: Writer,
    body: ApiJson<UserUpdate>,
) -> ApiResult<web::Json<UserProfile>> {
    let changes = body.into_inner().changes();
    let mut tx = UserTx::begin(&state.db, &user.claims_json).await?;
    let profile = users::update_profile(&mut tx, &changes)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    tx.commit().await?;
    Ok(web::Json(UserProfile::new(profile, &user.user)))
}

/// What deleting the account did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountDeleted {
    /// 1 when the account's data was deleted now, 0 when a repeated call found it gone.
    #[schema(example = 1)]
    pub deleted: u64,
    /// Whether the sign-in (the Supabase Auth user) is deleted too. False when this
    /// deployment has no `SUPABASE_SERVICE_ROLE_KEY`: then it is deleted in Supabase.
    /// The local stack (`scripts/dev`) deletes its own sign-ins.
    pub auth_user_deleted: bool,
}

// After a cutover from the FastAPI backend, its archived copy of the account goes too
// (`users::forget_archived`).
/// Delete the caller's account: their data in this service (profile, favorites, history,
/// identification records, media records and their stored files), then their Supabase
/// Auth user, so they can no longer sign in. If the Auth user cannot be deleted, the
/// answer (503) says so and calling again finishes the job.
#[utoipa::path(delete, path = "/api/v1/users/me", tag = "users",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, body = AccountDeleted, example = json!({"deleted": 1, "auth_user_deleted": true})),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "Storage, the database or Supabase Auth is unavailable: nothing is half done that a repeat does not finish"),
    )
)]
pub async fn delete_me(
    state: web::Data<AppState>,
    authenticator: web::Data<Authenticator>,
    user: AnyAccount,
) -> ApiResult<HttpResponse> {
    // Files first: if storage is down the account stays whole and the call can be repeated.
    if let Some(storage) = &state.storage {
        let removed = storage
            .delete_prefix(crate::storage::USER_UPLOADS.name, &format!("{}/", user.id))
            .await?;
        tracing::info!(user_id = %user.id, objects = removed, "account files deleted");
    }
    // Already deleted (a repeated call): the scope refuses the token, nothing is left.
    let removed = match UserTx::run(&state.db, &user.claims_json, async |tx| {
        users::delete_account(tx).await
    })
    .await
    .map_err(ApiError::from)
    {
        Err(ApiError::Unauthorized(_)) => false,
        other => other?,
    };
    // After a cutover, the FastAPI backend's copy of the account goes too.
    let archived = users::forget_archived(&state.db, user.id).await?;
    authenticator.forget(user.id).await;
    tracing::info!(user_id = %user.id, archived, "account data deleted");
    // The sign-in last: a user who can still sign in can still repeat the call.
    let auth_user_deleted = match &state.auth_admin {
        Some(admin) => {
            admin.delete_user(user.id).await.map_err(|why| {
                tracing::error!(user_id = %user.id, why, "the Supabase Auth user was not deleted");
                ApiError::Unavailable(format!(
                    "Your data is deleted, but your sign-in could not be ({why}): call again to finish"
                ))
            })?;
            tracing::info!(user_id = %user.id, "Supabase Auth user deleted");
            true
        }
        None => false,
    };
    Ok(HttpResponse::Ok().json(AccountDeleted {
        deleted: u64::from(removed),
        auth_user_deleted,
    }))
}

// Written while it is read, page by page on one connection at a time (`db::export`).
/// Everything this service holds about the caller, as one JSON document, each list
/// newest first. Five an hour.
#[utoipa::path(get, path = "/api/v1/users/me/export", tag = "users",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "exported_at, user, favorites, history, identifications, identification_corrections, media_assets", body = Object),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Five exports an hour; see Retry-After"),
    )
)]
pub async fn export_me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    within_rate(&state.db, user.id, &limits::EXPORT).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"machinemate-export.json\"",
        ))
        .streaming(export::stream(state.db.clone(), user.claims_json.clone())))
}
