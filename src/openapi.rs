//! The OpenAPI document (`/openapi.json`) and the docs explorer (`/docs`, Swagger UI
//! vendored into the binary: nothing is fetched at build or run time).

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::routes;

/// The document's own parts: its description and tags. Its paths are the routing
/// table's ([`routes::Documented`]), merged in by [`document`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "MachineMate API",
        description = "Identifies gym machines from a photo and teaches people to use them safely: \
                       the machine catalog with guidance, favorites, identification history, \
                       media through signed URLs, and identification.\n\n\
                       Errors answer `{\"detail\": ..., \"code\": ..., \"trace_id\": ...}`; invalid \
                       input answers 422 with `detail` a list of `{loc, msg, type}` issues. Every \
                       response carries `X-Trace-Id`.\n\n\
                       Routes marked with a lock take `Authorization: Bearer <Supabase access \
                       token>`: choose **Authorize** and paste one. Against a local service \
                       (`scripts/dev`), `scripts/dev-token` prints one."
    ),
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
                    .description(Some(
                        "A Supabase Auth access token (the app's signed-in session). For the \
                         local service of `scripts/dev`, run `scripts/dev-token` (a user; \
                         `--role admin` for admin routes) and paste what it prints.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The error answers any route may give besides its own, documented on every operation
/// that can give them (a route's own description of a status is kept): 400 (a path or
/// header the HTTP layer cannot read, a malformed multipart body), 401 (bearer routes),
/// 403 (admin routes), 404 (routes with path parameters), 408/413/415 (routes with a
/// body), 422 (routes with parameters or a body), 429 (writes of a user's rows), 501
/// (identification and media routes, when the feature is off) and 503 (a database or
/// upstream that is down or past its deadline). All in the error envelope.
struct CommonErrors;

/// Operations that write a user's rows, one of two at a time per user and instance
/// (`extract::writes`): a 429 past a second's wait.
const WRITE_OPERATIONS: [&str; 13] = [
    "add_favorite",
    "update_favorite",
    "delete_favorite",
    "clear_favorites",
    "add_history",
    "add_history_batch",
    "delete_history",
    "clear_history",
    "update_me",
    "upload_url",
    "complete_upload",
    "upload_file",
    "delete_file",
];

/// Operations only admins (or the service role, or `METRICS_TOKEN`) may call.
const ADMIN_OPERATIONS: [&str; 7] = [
    "create_machine",
    "update_machine",
    "retire_machine",
    "machine_audit",
    "stats",
    "prometheus",
    "identification",
];

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/health/live" {
                continue;
            }
            let has_path_params = path.contains('{');
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let has_params =
                    has_path_params || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                let bearer = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let admin = operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| ADMIN_OPERATIONS.contains(&id));
                let mut wanted: Vec<(&str, &str)> = Vec::new();
                if has_params || has_body || bearer {
                    wanted.push(("400", "A request the HTTP layer cannot read (malformed path, header or multipart body)"));
                }
                if bearer {
                    wanted.push((
                        "401",
                        "Missing or invalid token (`WWW-Authenticate: Bearer`)",
                    ));
                }
                if admin {
                    wanted.push(("403", "Not an admin"));
                }
                if has_path_params {
                    wanted.push(("404", "Not found"));
                } else if path.starts_with("/api/v1/users/me") && bearer {
                    wanted.push((
                        "404",
                        "The caller's profile was deleted (`DELETE /api/v1/users/me`)",
                    ));
                }
                if has_body {
                    wanted.push(("408", "The body stopped arriving"));
                    wanted.push(("413", "The body is over its size limit"));
                    wanted.push(("415", "The body is not of the type required"));
                }
                if has_params || has_body {
                    wanted.push((
                        "422",
                        "Invalid input: `detail` lists `{loc, msg, type}` issues",
                    ));
                }
                let feature = path.ends_with("/identify")
                    || path.starts_with("/api/v1/media")
                    || path.ends_with("/media");
                if feature {
                    wanted.push(("501", "The feature is turned off on this server (`FEATURES_OFF`), or in development has no service configured; `detail` names it. Retrying does not help"));
                }
                let writes = operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| WRITE_OPERATIONS.contains(&id));
                if writes {
                    wanted.push((
                        "429",
                        "Too many writes of this account at once, or a rate limit spent; see Retry-After",
                    ));
                }
                if path != "/health/ready" && path != "/health" {
                    wanted.push(("503", "The database or an upstream service is unavailable, or the request ran past its deadline; retry later"));
                }
                for (status, description) in wanted {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The document as served at `/openapi.json`: the routing table's paths (and the
/// schemas they name), then the bearer scheme and the errors every route may give,
/// which [`CommonErrors`] adds by reading the paths.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.merge(routes::Documented::openapi());
    BearerAuth.modify(&mut document);
    CommonErrors.modify(&mut document);
    document
}

/// Where the document is served.
const DOCUMENT_PATH: &str = "/openapi.json";

/// `/openapi.json`, rendered once at start-up and shared by every worker, and `/docs`
/// (Swagger UI) reading it. Handing the document to `SwaggerUi` instead would keep a
/// deep copy of it in each worker (about 0.5 MB of heap apiece, measured with
/// heaptrack) and render it anew for each request.
pub fn configure(document_json: web::Data<web::Bytes>) -> impl Fn(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(
            web::resource(DOCUMENT_PATH)
                .app_data(document_json.clone())
                .get(serve_document),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new([DOCUMENT_PATH])));
    }
}

/// The document as `/openapi.json` serves it.
pub fn render_document() -> serde_json::Result<web::Data<web::Bytes>> {
    Ok(web::Data::new(serde_json::to_vec(&document())?.into()))
}

async fn serve_document(document_json: web::Data<web::Bytes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document_json.get_ref().clone())
}
