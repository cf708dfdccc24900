//! Nothing answers with actix's default text bodies: unknown routes, wrong methods and
//! framework-level errors are rewritten into the JSON error envelope.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, Result};

use crate::error::status_envelope;

/// The app's default service: FastAPI's `{"detail": "Not Found"}`.
pub async fn not_found() -> HttpResponse {
    status_envelope(StatusCode::NOT_FOUND, None)
}

/// Middleware that rewrites any 4xx/5xx response without a JSON body.
pub fn json_error_bodies<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(rewrite_non_json)
}

fn rewrite_non_json<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, old) = res.into_parts();
    let old_headers = old.headers().clone();
    // A short plain-text client error message (e.g. from a framework extractor) is kept.
    let message = old
        .into_body()
        .try_into_bytes()
        .ok()
        .filter(|b| !b.is_empty() && b.len() <= 300)
        .and_then(|b| String::from_utf8(b.to_vec()).ok());
    let mut new = status_envelope(status, message);
    for (name, value) in old_headers.iter() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}
