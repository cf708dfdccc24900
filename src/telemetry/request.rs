//! The root span of every request: ids, route template, status and latency, one
//! "request completed" line at the end, and the `X-Trace-Id` response header.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use super::trace_context::TraceContext;

pub const X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A per-request id (distinct from the trace id, which a client may reuse).
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

pub async fn trace_requests<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let started = Instant::now();
    let trace = TraceContext::from_headers(req.headers());
    let request_id = Uuid::new_v4();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = %trace.trace_id,
        parent_span_id = Empty,
        trace_sampled = trace.sampled,
        method = %req.method(),
        path = %req.path(),
        route = Empty,
        status = Empty,
        latency_ms = Empty,
        user_id = Empty,
    );
    if let Some(parent) = &trace.parent_span_id {
        span.record("parent_span_id", parent.as_str());
    }
    req.extensions_mut().insert(trace.clone());
    req.extensions_mut().insert(RequestId(request_id));
    // Probes arrive every few seconds: keep them out of the INFO stream.
    let is_probe = req.path().starts_with("/health");

    let outcome = trace
        .clone()
        .scope(next.call(req).instrument(span.clone()))
        .await;
    // Inner services answer errors as responses; an `Err` here could only come from a
    // middleware and is rendered by actix itself.
    let mut response = outcome?;

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&trace.trace_id) {
        headers.insert(X_TRACE_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
        headers.insert(X_REQUEST_ID, value);
    }

    let status = response.status().as_u16();
    let route = response.request().match_pattern();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("route", route.as_deref().unwrap_or("<unmatched>"));
    span.record("status", status);
    span.record("latency_ms", (latency_ms * 1000.0).round() / 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!("request completed");
        } else if is_probe {
            tracing::debug!("request completed");
        } else {
            tracing::info!("request completed");
        }
    });
    Ok(response)
}
