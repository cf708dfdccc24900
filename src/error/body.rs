//! The JSON envelope every error answers with, in FastAPI's shape.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry::trace_context;

/// One part of an issue's location: a key (`"query"`, `"page_size"`) or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Key(String),
    Index(usize),
}

impl From<&str> for LocItem {
    fn from(s: &str) -> Self {
        LocItem::Key(s.to_owned())
    }
}

impl From<usize> for LocItem {
    fn from(i: usize) -> Self {
        LocItem::Index(i)
    }
}

// The shape FastAPI (pydantic v2) gives its issues, which the shipped app's backend had.
/// One invalid input: where it is (`loc`), what kind of problem (`type`) and why (`msg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ValidationIssue {
    /// Where the input was: `["query", "page_size"]`, `["body", "notes"]`.
    pub loc: Vec<LocItem>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs: `missing`, `int_parsing`, `less_than_equal`...
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationIssue {
    pub fn new(loc: Vec<LocItem>, kind: &str, msg: impl Into<String>) -> Self {
        ValidationIssue {
            loc,
            msg: msg.into(),
            kind: kind.to_owned(),
        }
    }

    /// An issue with a query parameter.
    pub fn query(name: &str, kind: &str, msg: impl Into<String>) -> Self {
        Self::new(vec!["query".into(), name.into()], kind, msg)
    }
}

/// `detail` is a message, or the list of validation issues.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Detail {
    Message(String),
    Issues(Vec<ValidationIssue>),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: Detail,
    /// A stable, machine-readable error code (`not_found`, `validation_error`...).
    pub code: String,
    /// The request's trace id, also sent as the `X-Trace-Id` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The issue reported for text that holds a NUL character.
pub fn nul_issue(loc: Vec<LocItem>) -> ValidationIssue {
    ValidationIssue::new(
        loc,
        "string_nul",
        "Text must not contain NUL (\\u0000) characters",
    )
}

/// Builds an error response in the JSON envelope, with the current request's trace id.
pub fn envelope(status: StatusCode, code: &str, detail: Detail) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        detail,
        code: code.to_owned(),
        trace_id: trace_context::current_trace_id(),
    })
}

/// The code used for a bare status (routing errors and other framework answers).
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "header_fields_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_error",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "error",
    }
}

/// Converts any raw status into an `ApiError`-shaped response (used by the routing
/// fallbacks so nothing answers with actix's default text bodies).
pub fn status_envelope(status: StatusCode, message: Option<String>) -> HttpResponse {
    let detail = match message {
        Some(m) if status.is_client_error() && !m.trim().is_empty() => m,
        _ => status.canonical_reason().unwrap_or("Error").to_owned(),
    };
    envelope(status, code_for_status(status), Detail::Message(detail))
}
