//! `AuthUser` (a valid bearer token is required), `MaybeAuthUser` (optional, but a bad
//! token is still a 401) and `AdminUser` (403 unless admin or service role).

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::identity::Identity;
use super::verify::AuthError;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<Identity>);

#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<Arc<Identity>>);

#[derive(Debug, Clone)]
pub struct AdminUser(pub Arc<Identity>);

impl Deref for AuthUser {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl Deref for AdminUser {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// The token from `Authorization: Bearer <token>`; `Ok(None)` when there is no header.
fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Malformed token".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized(
            "Authorization header must use the Bearer scheme".into(),
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::Unauthorized("Missing bearer token".into()));
    }
    Ok(Some(token.to_owned()))
}

/// Verifies the request's token, if any, and makes sure the caller has a profile row.
async fn identify(
    state: web::Data<AppState>,
    token: Option<String>,
) -> Result<Option<Arc<Identity>>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let verifier = state
        .auth
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("Authentication is not configured".into()))?;
    let identity = verifier.verify(&token).await.map_err(|e| match e {
        AuthError::Invalid(why) => ApiError::Unauthorized(why.into()),
        AuthError::Unavailable => ApiError::Unavailable(e.to_string()),
    })?;
    tracing::Span::current().record("user_id", tracing::field::display(identity.id));
    if state.known_users.get(&identity.id).await.is_none() {
        // The sign-up trigger creates the row; this covers users it missed.
        db::users::ensure_profile(&state.db, identity.id).await?;
        state.known_users.insert(identity.id, ()).await;
    }
    Ok(Some(identity))
}

fn state_of(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered")
}

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move { Ok(MaybeAuthUser(identify(state, token?).await?)) })
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state_of(req);
        Box::pin(async move {
            identify(state, token?)
                .await?
                .map(AuthUser)
                .ok_or_else(|| ApiError::Unauthorized("Not authenticated".into()))
        })
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let AuthUser(identity) = user.await?;
            if identity.role.is_admin() {
                Ok(AdminUser(identity))
            } else {
                Err(ApiError::Forbidden("Admin role required".into()))
            }
        })
    }
}
