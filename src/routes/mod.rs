//! HTTP routes, one module per resource.

pub mod curation;
pub mod fallback;
pub mod favorites;
pub mod head;
pub mod health;
pub mod history;
pub mod identify;
pub mod machines;
pub mod media;
pub mod metrics;
pub mod shared;
pub mod sync;
pub mod traces;
pub mod users;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Resource, Route, http::header, web};

use crate::deadline::request_deadline;
use crate::error::ApiError;

/// A resource whose only upstream is Postgres: its requests are bound by the request
/// deadline (`crate::deadline`). It is applied per resource, after routing, so a
/// timed-out request can still be answered with its own `HttpRequest`.
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

/// A resource that calls storage, Fireworks or Supabase Auth as well, or scans up to 90
/// days of events under a statement timeout of its own (`db::quality`): those calls
/// carry their own deadlines, and the request deadline does not apply.
fn with_own_deadlines(path: &str) -> Resource {
    web::resource(path)
}

/// One route of a [`with_own_deadlines`] resource that only reaches Postgres.
fn bounded(route: Route) -> Route {
    route.wrap(from_fn(request_deadline))
}

/// For resources whose path holds a `{machine_id}`: an id that cannot be a machine's
/// ([`MachineId`](crate::domain::machine_id::MachineId)) names nothing, so it is answered 404 `"{what} not found"`, as an id
/// that names no machine is.
fn machine_path(what: &'static str) -> web::PathConfig {
    web::PathConfig::default().error_handler(move |_, _| ApiError::not_found(what).into())
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
                .app_data(machine_path("Machine"))
                .get(machines::get_machine)
                .patch(curation::update_machine)
                .delete(curation::retire_machine),
        )
        .service(
            resource("/api/v1/machines/{machine_id}/audit")
                .app_data(machine_path("Machine"))
                .get(curation::machine_audit),
        )
        .service(
            resource("/api/v1/machines/{machine_id}/media")
                .app_data(machine_path("Machine"))
                .get(media::read::machine_media),
        )
        .service(resource("/api/v1/media").get(media::read::list_media))
        .service(resource("/api/v1/media/upload-url").post(media::presigned::upload_url))
        .service(with_own_deadlines("/api/v1/media/upload").post(media::direct::upload_file))
        .service(
            with_own_deadlines("/api/v1/media/delete/{file_path:.*}")
                .delete(media::direct::delete_file),
        )
        .service(
            with_own_deadlines("/api/v1/media/{asset_id}/complete")
                .post(media::presigned::complete_upload),
        )
        .service(resource("/api/v1/media/{asset_id}/url").get(media::read::media_url))
        .service(
            with_own_deadlines("/api/v1/users/me")
                .route(bounded(web::get().to(users::get_me)))
                .route(bounded(web::patch().to(users::update_me)))
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
                .app_data(machine_path("Favorite"))
                .get(favorites::get_favorite)
                .patch(favorites::update_favorite)
                .delete(favorites::delete_favorite),
        )
        .service(
            resource("/api/v1/history")
                .get(history::list_history)
                .post(history::write::add_history)
                .delete(history::clear_history),
        )
        .service(resource("/api/v1/history/batch").post(history::write::add_history_batch))
        .service(
            resource("/api/v1/history/{history_id}")
                .get(history::get_history)
                .delete(history::delete_history),
        )
        .service(with_own_deadlines("/identify").post(identify::identify))
        .service(with_own_deadlines("/api/v1/identify").post(identify::identify_full))
        .service(resource("/traces/{trace_id}").get(traces::get_trace))
        .service(resource("/api/v1/identifications/{trace_id}/correction").post(traces::correct))
        .service(resource("/api/v1/sync").get(sync::sync))
        .service(resource("/metrics").get(metrics::prometheus))
        .service(resource("/api/v1/metrics/stats").get(metrics::stats))
        .service(resource("/api/v1/metrics/categories").get(metrics::categories))
        .service(with_own_deadlines("/api/v1/metrics/identification").get(metrics::identification))
        .service(resource("/docs").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }));
}
