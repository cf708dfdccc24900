//! What several handlers share: the answer every DELETE gives, and the per-user rate
//! limits of the expensive routes.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Db;
use crate::db::limits::{self, RateLimit};
use crate::error::{ApiError, ApiResult};

/// What every DELETE answers: 200 with how many records it removed. Never a 204: the
/// shipped app parses every 2xx body as JSON, so an empty body makes it report a deletion
/// that happened as failed and roll its screen back.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    /// Records removed (0 when a repeated call found nothing left to remove).
    #[schema(example = 1)]
    pub deleted: u64,
}

/// Takes one call of `limit` from the caller's allowance; a 429 with `Retry-After` when
/// it is spent.
pub async fn within_rate(db: &Db, user: uuid::Uuid, limit: &RateLimit) -> ApiResult<()> {
    match limits::take(db, user, limit).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(ApiError::RateLimited {
            code: "rate_limited",
            detail: format!(
                "At most {} of these per {} s; try again in {retry_after_secs} s",
                limit.max,
                limit.window.as_secs()
            ),
            retry_after_secs,
        }),
    }
}

impl Deleted {
    pub fn response(deleted: u64) -> HttpResponse {
        HttpResponse::Ok().json(Deleted { deleted })
    }
}
