//! The root span of every request: ids, route template, status and latency, one
//! "request completed" line at the end, and the `X-Trace-Id` response header.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, USER_AGENT};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use super::metrics;
use super::redact;
use super::trace_context::TraceContext;

/// Counts a request in `http_requests_in_flight` for as long as it lives.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        metrics::metrics().in_flight.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::metrics().in_flight.dec();
    }
}

/// The caller's address as Cloud Run's front end saw it: the last entry of the last
/// `X-Forwarded-For` line, which the front end appends (every earlier entry or line is
/// whatever the client sent), else the peer address; `None` when there is neither. This
/// assumes the service is reached only through Cloud Run's front end, as Terraform
/// deploys it (no load balancer in front that appends an address of its own); a client
/// reaching it directly names its own. The request span logs it (`remote_ip`); handlers
/// take it as an extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub Option<String>);

impl ClientAddress {
    pub fn of(req: &HttpRequest) -> Self {
        ClientAddress(
            req.headers()
                .get_all("x-forwarded-for")
                .last()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .or_else(|| req.peer_addr().map(|a| a.ip().to_string())),
        )
    }
}

impl FromRequest for ClientAddress {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientAddress::of(req)))
    }
}

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
    let _in_flight = InFlight::enter();
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
        request_url = %redact::path_and_query(req.uri()),
        user_agent = Empty,
        remote_ip = Empty,
        protocol = ?req.version(),
        request_size = Empty,
        response_size = Empty,
    );
    if let Some(agent) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        span.record("user_agent", agent);
    }
    if let ClientAddress(Some(ip)) = ClientAddress::of(req.request()) {
        span.record("remote_ip", ip.as_str());
    }
    if let Some(size) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        span.record("request_size", size);
    }
    if let Some(parent) = &trace.parent_span_id {
        span.record("parent_span_id", parent.as_str());
    }
    req.extensions_mut().insert(trace.clone());
    req.extensions_mut().insert(RequestId(request_id));
    // Probes and scrapes arrive every few seconds: keep them out of the INFO stream.
    let is_probe = req.path().starts_with("/health") || req.path() == "/metrics";

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
    if let BodySize::Sized(size) = response.response().body().size() {
        span.record("response_size", size);
    }
    metrics::http_request(
        response.request().method(),
        route.as_deref().unwrap_or("<unmatched>"),
        status,
        latency_ms / 1000.0,
    );
    // `request_log` marks the line that carries Cloud Logging's `httpRequest`. Failures
    // are logged once, by `error::log_failures`; this line only says how the request ended.
    span.in_scope(|| {
        if is_probe {
            tracing::debug!(request_log = true, "request completed");
        } else {
            tracing::info!(request_log = true, "request completed");
        }
    });
    Ok(response)
}
