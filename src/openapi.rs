//! The OpenAPI document (`/openapi.json`) and the docs explorer (`/docs`, Swagger UI
//! vendored into the binary: nothing is fetched at build or run time).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{
    curation, favorites, health, history, identify, machines, media, metrics, sync, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MachineMate API",
        description = "Identifies gym machines from a photo and teaches people to use them safely: \
                       the machine catalog with guidance, favorites, identification history, \
                       media through signed URLs, and identification.\n\n\
                       Errors answer `{\"detail\": ..., \"code\": ..., \"trace_id\": ...}`; invalid \
                       input answers 422 with FastAPI's list of `{loc, msg, type}` issues. Every \
                       response carries `X-Trace-Id`."
    ),
    paths(
        health::health,
        health::ready,
        health::live,
        machines::list_machines,
        machines::list_categories,
        machines::list_difficulties,
        machines::get_machine,
        curation::create_machine,
        curation::update_machine,
        curation::retire_machine,
        curation::machine_audit,
        users::get_me,
        users::update_me,
        users::delete_me,
        users::export_me,
        favorites::list_favorites,
        favorites::add_favorite,
        favorites::get_favorite,
        favorites::update_favorite,
        favorites::delete_favorite,
        favorites::clear_favorites,
        history::list_history,
        history::add_history,
        history::add_history_batch,
        history::get_history,
        history::delete_history,
        history::clear_history,
        identify::identify,
        identify::get_trace,
        identify::correct,
        media::upload_url,
        media::complete_upload,
        media::media_url,
        media::list_media,
        media::machine_media,
        media::upload_file,
        media::delete_file,
        sync::sync,
        metrics::prometheus,
        metrics::stats,
        metrics::categories,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Probes for Cloud Run and operators"),
        (name = "machines", description = "The public machine catalog"),
        (name = "curation", description = "Catalog changes by admins, audited"),
        (name = "users", description = "The caller's account"),
        (name = "favorites", description = "The caller's favorite machines"),
        (name = "history", description = "The caller's identification history"),
        (name = "identify", description = "Which machine is in this photo"),
        (name = "media", description = "Photos, images and tutorials through signed storage URLs"),
        (name = "sync", description = "Offline sync"),
        (name = "metrics", description = "Usage summaries"),
    )
)]
pub struct ApiDoc;

/// Supabase access tokens: `Authorization: Bearer <jwt>`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A Supabase Auth access token"))
                    .build(),
            ),
        );
    }
}

/// The document as served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `/docs` (Swagger UI) serving the document at `/openapi.json`.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document())
}
