//! What the auth extractors need, registered as its own app data: the token verifier,
//! and the users whose profile row is known to exist.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use uuid::Uuid;

use super::identity::Identity;
use super::verify::{AuthError, Verifier};
use crate::db::{self, Db};
use crate::error::{ACCOUNT_DELETED, ApiError};

pub struct Authenticator {
    /// `None` when no way to verify tokens is configured (authenticated routes answer 503).
    verifier: Option<Arc<Verifier>>,
    db: Db,
    /// Users whose profile row is known to exist (skips a query per request).
    known_users: Cache<Uuid, ()>,
}

impl Authenticator {
    pub fn new(verifier: Option<Arc<Verifier>>, db: Db) -> Self {
        Authenticator {
            verifier,
            db,
            known_users: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }

    /// Verifies `token` and makes sure its user has a profile row; a deleted account
    /// (whose token is still valid) is a 401.
    pub async fn identify(&self, token: &str) -> Result<Arc<Identity>, ApiError> {
        let identity = self.verified(token).await?;
        if self.known_users.get(&identity.id).await.is_none() {
            // The sign-up trigger creates the row; this covers users it missed. An instance
            // that knew the user before a deletion elsewhere still refuses their token: the
            // request's transaction checks (`db::rls`, migration 20261207011000).
            if !db::users::ensure_profile(&self.db, identity.id).await? {
                return Err(ApiError::Unauthorized(ACCOUNT_DELETED.into()));
            }
            self.known_users.insert(identity.id, ()).await;
        }
        Ok(identity)
    }

    /// Verifies `token` only: its account may have been deleted since it was issued.
    pub async fn verified(&self, token: &str) -> Result<Arc<Identity>, ApiError> {
        let verifier = self
            .verifier
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("Authentication is not configured".into()))?;
        let identity = verifier.verify(token).await.map_err(|e| match e {
            AuthError::Invalid(why) => ApiError::Unauthorized(why.into()),
            AuthError::Unavailable => ApiError::Unavailable(e.to_string()),
        })?;
        tracing::Span::current().record("user_id", tracing::field::display(identity.id));
        Ok(identity)
    }

    /// Forgets that `user` has a profile (their account was deleted).
    pub async fn forget(&self, user: Uuid) {
        self.known_users.invalidate(&user).await;
    }
}
