//! The OpenAPI document (`/openapi.json`) and the docs explorer (`/docs`, Swagger UI
//! vendored into the binary: nothing is fetched at build or run time).

use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{health, machines};

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
    ),
    tags(
        (name = "health", description = "Probes for Cloud Run and operators"),
        (name = "machines", description = "The public machine catalog"),
    )
)]
pub struct ApiDoc;

/// The document as served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `/docs` (Swagger UI) serving the document at `/openapi.json`.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document())
}
