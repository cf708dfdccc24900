//! Turns to write as one user. Every write to a user's favorites, history, profile or
//! media takes their row's lock (their next sync version, their row limits), so one
//! user's concurrent writes run one at a time in Postgres; without a bound here each one
//! waiting would hold a pooled connection, and 120 of them held the pool from everyone
//! else. A [`Writer`] waits for one of [`TURNS_PER_USER`] turns before it touches the
//! database, so waiting costs no connection; past [`TURN_WAIT`] the answer is a 429.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use moka::future::Cache;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::auth::{AuthUser, Identity};
use crate::error::ApiError;

/// Writes one user may have in flight on one instance: one holds the row, one waits.
pub const TURNS_PER_USER: usize = 2;
/// How long a write waits for its turn before a 429.
pub const TURN_WAIT: Duration = Duration::from_secs(1);

/// Each user's turns on this instance (app data).
pub struct WriteTurns(Cache<Uuid, Arc<Semaphore>>);

impl Default for WriteTurns {
    fn default() -> Self {
        // A user idle for a minute has no write in flight (each is bound by the request
        // deadline), so their turns can go.
        WriteTurns(
            Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(60))
                .build(),
        )
    }
}

impl WriteTurns {
    async fn take(&self, user: Uuid) -> Result<OwnedSemaphorePermit, ApiError> {
        let turns = self
            .0
            .get_with(user, async { Arc::new(Semaphore::new(TURNS_PER_USER)) })
            .await;
        match tokio::time::timeout(TURN_WAIT, turns.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::RateLimited {
                code: "rate_limited",
                detail: format!(
                    "At most {TURNS_PER_USER} writes of one account at once; try again in a moment"
                ),
                retry_after_secs: 1,
            }),
        }
    }
}

/// A signed-in user about to write, holding one of their turns until the handler ends.
pub struct Writer {
    pub user: AuthUser,
    _turn: Option<OwnedSemaphorePermit>,
}

impl Deref for Writer {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.user
    }
}

impl FromRequest for Writer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        let turns = req.app_data::<web::Data<WriteTurns>>().cloned();
        Box::pin(async move {
            let user = user.await?;
            let turn = match turns {
                Some(turns) => Some(turns.take(user.id).await?),
                None => None,
            };
            Ok(Writer { user, _turn: turn })
        })
    }
}
