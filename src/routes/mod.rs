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
pub mod users;

use actix_web::{HttpResponse, http::header, web};

/// Registers every route. Each path is one resource with a route per method, so a
/// wrong method answers 405 (not 404). Literal paths come before `{machine_id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").get(health::health))
        .service(web::resource("/health/ready").get(health::ready))
        .service(web::resource("/health/live").get(health::live))
        .service(
            web::resource("/api/v1/machines")
                .get(machines::list_machines)
                .post(curation::create_machine),
        )
        .service(web::resource("/api/v1/machines/categories/list").get(machines::list_categories))
        .service(
            web::resource("/api/v1/machines/difficulties/list").get(machines::list_difficulties),
        )
        .service(
            web::resource("/api/v1/machines/{machine_id}")
                .get(machines::get_machine)
                .patch(curation::update_machine)
                .delete(curation::retire_machine),
        )
        .service(web::resource("/api/v1/machines/{machine_id}/audit").get(curation::machine_audit))
        .service(web::resource("/api/v1/machines/{machine_id}/media").get(media::machine_media))
        .service(web::resource("/api/v1/media").get(media::list_media))
        .service(web::resource("/api/v1/media/upload-url").post(media::upload_url))
        .service(web::resource("/api/v1/media/upload").post(media::upload_file))
        .service(web::resource("/api/v1/media/delete/{file_path:.*}").delete(media::delete_file))
        .service(web::resource("/api/v1/media/{asset_id}/complete").post(media::complete_upload))
        .service(web::resource("/api/v1/media/{asset_id}/url").get(media::media_url))
        .service(
            web::resource("/api/v1/users/me")
                .get(users::get_me)
                .patch(users::update_me)
                .delete(users::delete_me),
        )
        .service(web::resource("/api/v1/users/me/export").get(users::export_me))
        .service(
            web::resource("/api/v1/favorites")
                .get(favorites::list_favorites)
                .post(favorites::add_favorite)
                .delete(favorites::clear_favorites),
        )
        .service(
            web::resource("/api/v1/favorites/{machine_id}")
                .get(favorites::get_favorite)
                .patch(favorites::update_favorite)
                .delete(favorites::delete_favorite),
        )
        .service(
            web::resource("/api/v1/history")
                .get(history::list_history)
                .post(history::add_history)
                .delete(history::clear_history),
        )
        .service(web::resource("/api/v1/history/batch").post(history::add_history_batch))
        .service(
            web::resource("/api/v1/history/{history_id}")
                .get(history::get_history)
                .delete(history::delete_history),
        )
        .service(web::resource("/identify").post(identify::identify))
        .service(web::resource("/api/v1/identify").post(identify::identify))
        .service(web::resource("/traces/{trace_id}").get(identify::get_trace))
        .service(
            web::resource("/api/v1/identifications/{trace_id}/correction").post(identify::correct),
        )
        .service(web::resource("/api/v1/sync").get(sync::sync))
        .service(web::resource("/metrics").get(metrics::prometheus))
        .service(web::resource("/api/v1/metrics/stats").get(metrics::stats))
        .service(web::resource("/api/v1/metrics/categories").get(metrics::categories))
        .service(web::resource("/docs").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }));
}
