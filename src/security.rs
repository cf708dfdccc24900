//! Security headers on every answer (errors included): no MIME sniffing, no framing, no
//! referrer, HTTPS only, and nothing stored by caches unless a route says otherwise
//! (the catalog sets its own public `Cache-Control`; user data never may be cached).
//!
//! Also the request-head limits: a URI over 16 KiB is a 414 and headers over 32 KiB in
//! all a 431, both in the JSON envelope (actix itself only refuses heads over 128 KiB,
//! with an empty 431, before any middleware runs).

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, HeaderName, HeaderValue, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;

use crate::error::status_envelope;

pub const MAX_URI_BYTES: usize = 16 * 1024;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// JSON answers load nothing and may not be framed. `/docs` (Swagger UI) is a page with
/// scripts and styles of its own, so it keeps only the framing rule.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP: &str = "frame-ancestors 'none'";

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The answer for a request head over the limits, if it is.
fn oversized(req: &ServiceRequest) -> Option<actix_web::HttpResponse> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(status_envelope(
            StatusCode::URI_TOO_LONG,
            Some(format!("The URI is longer than {MAX_URI_BYTES} bytes")),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (headers > MAX_HEADER_BYTES).then(|| {
        status_envelope(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Some(format!(
                "The headers are larger than {MAX_HEADER_BYTES} bytes"
            )),
        )
    })
}

pub async fn security_headers<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let docs = req.path().starts_with("/docs");
    let mut response = match oversized(&req) {
        Some(refusal) => req.into_response(refusal).map_into_right_body(),
        None => next.call(req).await?.map_into_left_body(),
    };
    let headers = response.headers_mut();
    set_default(headers, X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, X_FRAME_OPTIONS, "DENY");
    set_default(headers, REFERRER_POLICY, "no-referrer");
    set_default(
        headers,
        STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    set_default(
        headers,
        CONTENT_SECURITY_POLICY,
        if docs { DOCS_CSP } else { API_CSP },
    );
    if !docs {
        set_default(headers, CACHE_CONTROL, "no-store");
    }
    Ok(response)
}
