//! HTTP routes, one module per resource.

pub mod curation;
pub mod fallback;
pub mod favorites;
pub mod health;
pub mod history;
pub mod identify;
pub mod machines;
pub mod media;
pub mod metrics;
pub mod sync;
pub mod traces;
pub mod users;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Resource, http::header, web};

use serde::Serialize;
use utoipa::ToSchema;

use crate::deadline::request_deadline;

/// What every DELETE answers: 200 with how many records it removed. Never a 204: the
/// shipped app parses every 2xx body as JSON, so an empty body makes it report a deletion
/// that happened as failed and roll its screen back.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Records removed (0 when a repeated call found nothing left to remove).
    #[schema(example = 1)]
    pub deleted: u64,
}

/// Takes one call of `limit` from the caller's allowance; a 429 with `Retry-After` when
/// it is spent.
pub async fn within_rate(
    db: &crate::db::Db,
    user: uuid::Uuid,
    limit: &crate::db::limits::RateLimit,
) -> crate::error::ApiResult<()> {
    match crate::db::limits::take(db, user, limit).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(crate::error::ApiError::RateLimited {
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

/// A resource whose requests are bound by the request deadline (`crate::deadline`). It is
/// applied per resource, after routing, so a timed-out request can still be answered
/// with its own `HttpRequest`.
fn resource(
    path: &str,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(from_fn(request_deadline))
}

/// Registers every route. Each path is one resource with a route per method, so a
/// wrong method answers 405 (not 404). Literal paths come before `{machine_id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").get(health::health))
        .service(resource("/health/ready").get(health::ready))
        .service(resource("/health/live").get(health::live))
        .service(
            resource("/api/v1/machines")
                .get(machines::list_machines)
                .post(curation::create_machine),
        )
        .service(resource("/api/v1/machines/categories/list").get(machines::list_categories))
        .service(resource("/api/v1/machines/difficulties/list").get(machines::list_difficulties))
        .service(
            resource("/api/v1/machines/{machine_id}")
                .get(machines::get_machine)
                .patch(curation::update_machine)
                .delete(curation::retire_machine),
        )
        .service(resource("/api/v1/machines/{machine_id}/audit").get(curation::machine_audit))
        .service(resource("/api/v1/machines/{machine_id}/media").get(media::machine_media))
        .service(resource("/api/v1/media").get(media::list_media))
        .service(resource("/api/v1/media/upload-url").post(media::upload_url))
        .service(resource("/api/v1/media/upload").post(media::upload_file))
        .service(resource("/api/v1/media/delete/{file_path:.*}").delete(media::delete_file))
        .service(resource("/api/v1/media/{asset_id}/complete").post(media::complete_upload))
        .service(resource("/api/v1/media/{asset_id}/url").get(media::media_url))
        .service(
            resource("/api/v1/users/me")
                .get(users::get_me)
                .patch(users::update_me)
                .delete(users::delete_me),
        )
        .service(resource("/api/v1/users/me/export").get(users::export_me))
        .service(
            resource("/api/v1/favorites")
                .get(favorites::list_favorites)
                .post(favorites::add_favorite)
                .delete(favorites::clear_favorites),
        )
        .service(
            resource("/api/v1/favorites/{machine_id}")
                .get(favorites::get_favorite)
                .patch(favorites::update_favorite)
                .delete(favorites::delete_favorite),
        )
        .service(
            resource("/api/v1/history")
                .get(history::list_history)
                .post(history::add_history)
                .delete(history::clear_history),
        )
        .service(resource("/api/v1/history/batch").post(history::add_history_batch))
        .service(
            resource("/api/v1/history/{history_id}")
                .get(history::get_history)
                .delete(history::delete_history),
        )
        .service(resource("/identify").post(identify::identify))
        .service(resource("/api/v1/identify").post(identify::identify_full))
        .service(resource("/traces/{trace_id}").get(traces::get_trace))
        .service(resource("/api/v1/identifications/{trace_id}/correction").post(traces::correct))
        .service(resource("/api/v1/sync").get(sync::sync))
        .service(resource("/metrics").get(metrics::prometheus))
        .service(resource("/api/v1/metrics/stats").get(metrics::stats))
        .service(resource("/api/v1/metrics/categories").get(metrics::categories))
        .service(resource("/api/v1/metrics/identification").get(metrics::identification))
        .service(resource("/docs").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }));
}
