//! `AuthUser` (a valid bearer token is required), `MaybeAuthUser` (optional, but a bad
//! token is still a 401), `AdminUser` (403 unless admin or service role), and
//! `AnyAccount` (a valid token whose account may already be deleted).

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::authenticator::Authenticator;
use super::identity::Identity;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<Identity>);

#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<Arc<Identity>>);

#[derive(Debug, Clone)]
pub struct AdminUser(pub Arc<Identity>);

/// A verified token whose account may have been deleted since it was issued: only
/// `DELETE /api/v1/users/me` takes it, so that a deletion whose last step failed (the
/// Supabase Auth user's) can be finished by calling again.
#[derive(Debug, Clone)]
pub struct AnyAccount(pub Arc<Identity>);

impl Deref for AnyAccount {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

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

/// Verifies the request's token, if any; `with_profile`: and makes sure the caller has a
/// profile row (a deleted account is a 401).
async fn identify(
    authenticator: Option<web::Data<Authenticator>>,
    token: Option<String>,
    with_profile: bool,
) -> Result<Option<Arc<Identity>>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let authenticator = authenticator
        .ok_or_else(|| ApiError::Unavailable("Authentication is not configured".into()))?;
    let identity = if with_profile {
        authenticator.identify(&token).await?
    } else {
        authenticator.verified(&token).await?
    };
    Ok(Some(identity))
}

/// The caller a route requires: a 401 without a token.
fn required(identity: Option<Arc<Identity>>) -> Result<Arc<Identity>, ApiError> {
    identity.ok_or_else(|| ApiError::Unauthorized("Not authenticated".into()))
}

fn authenticator(req: &HttpRequest) -> Option<web::Data<Authenticator>> {
    req.app_data::<web::Data<Authenticator>>().cloned()
}

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let authenticator = authenticator(req);
        Box::pin(async move { Ok(MaybeAuthUser(identify(authenticator, token?, true).await?)) })
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let authenticator = authenticator(req);
        Box::pin(
            async move { required(identify(authenticator, token?, true).await?).map(AuthUser) },
        )
    }
}

impl FromRequest for AnyAccount {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let authenticator = authenticator(req);
        Box::pin(
            async move { required(identify(authenticator, token?, false).await?).map(AnyAccount) },
        )
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
