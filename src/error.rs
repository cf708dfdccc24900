//! The one API error type and its JSON envelope.
//!
//! Every error answers `{"detail": ..., "code": ..., "trace_id": ...}`. `detail` keeps
//! FastAPI's shape: a message, or for invalid input (422) a list of
//! `{loc, msg, type}` issues. 5xx bodies are generic; the cause goes to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
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

/// One invalid input, as FastAPI (pydantic v2) reports it.
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// 401 with `WWW-Authenticate: Bearer`; the detail says what was wrong with the token.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 408: the client stopped sending its body (see `extract::BODY_IDLE_TIMEOUT`).
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("invalid input: {0:?}")]
    Validation(Vec<ValidationIssue>),
    #[error("{0}")]
    Unavailable(String),
    /// 429 with `Retry-After` (seconds): a per-user rate limit or daily quota is spent.
    #[error("{detail}")]
    RateLimited {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation(_) => "validation_error",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::RateLimited { code, .. } => code,
            ApiError::Database(e) if database_unreachable(e) => "database_unavailable",
            ApiError::Database(e) if statement_timed_out(e) => "database_timeout",
            ApiError::Database(e) if unstorable_text(e) || check_violation(e) => "validation_error",
            ApiError::Database(_) | ApiError::Internal(_) => "internal_error",
        }
    }
}

/// Text Postgres cannot store (a NUL character, in a path segment or a multipart field
/// that no extractor checked): the client's input, so a 422 rather than a 500.
/// SQLSTATE 22021 is `character_not_in_repertoire`, 22P05 `untranslatable_character`
/// (jsonb's answer to `\u0000`).
fn unstorable_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")))
}

/// A user's row refused because they keep as many as they may (migration 20261204010000:
/// the constraint `<table>_per_user_limit`): the database's message names the limit.
fn per_user_limit(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db)
            if db.code().as_deref() == Some("23514")
                && db
                    .constraint()
                    .is_some_and(|c| c.ends_with("_per_user_limit")) =>
        {
            Some(db.message().to_owned())
        }
        _ => None,
    }
}

/// A row refused by a `check` constraint (SQLSTATE 23514): input the validation in front
/// of the query should have refused.
fn check_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23514"))
}

/// The issue reported for text that holds a NUL character.
pub fn nul_issue(loc: Vec<LocItem>) -> ValidationIssue {
    ValidationIssue::new(
        loc,
        "string_nul",
        "Text must not contain NUL (\\u0000) characters",
    )
}

/// A statement Postgres cancelled at its timeout (SQLSTATE 57014): the request's deadline
/// came first (`db::within_deadline`).
fn statement_timed_out(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}

/// Errors that mean "Postgres cannot be reached right now" rather than a bug. A
/// connection cut during its start-up can surface as a protocol error, so those count.
fn database_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
    )
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Database(e) if database_unreachable(e) || statement_timed_out(e) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Database(e) if unstorable_text(e) || check_violation(e) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Database(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            ApiError::Validation(issues) => Detail::Issues(issues.clone()),
            ApiError::Database(e) if database_unreachable(e) => {
                tracing::error!(error = %e, "database unavailable");
                Detail::Message("Database unavailable".into())
            }
            ApiError::Database(e) if statement_timed_out(e) => {
                tracing::error!(error = %e, "statement cancelled at the request's deadline");
                Detail::Message("The database took too long to answer; try again".into())
            }
            ApiError::Database(e) if unstorable_text(e) => {
                tracing::warn!(error = %e, "input text refused by the database");
                Detail::Issues(vec![nul_issue(vec!["request".into()])])
            }
            ApiError::Database(e) if per_user_limit(e).is_some() => {
                Detail::Issues(vec![ValidationIssue::new(
                    vec!["body".into()],
                    "too_many",
                    per_user_limit(e).unwrap_or_default(),
                )])
            }
            ApiError::Database(e) if check_violation(e) => {
                // The validation in front of the query missed a rule the schema holds:
                // still the client's input, so a 422, but worth a look (and a test).
                tracing::warn!(error = %e, "input refused by a check constraint");
                Detail::Issues(vec![ValidationIssue::new(
                    vec!["body".into()],
                    "value_error",
                    "A value is outside what is accepted",
                )])
            }
            ApiError::Database(e) => {
                tracing::error!(error = %e, error_debug = ?e, "database error");
                Detail::Message("Internal server error".into())
            }
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                Detail::Message("Internal server error".into())
            }
            other => Detail::Message(other.to_string()),
        };
        let mut response = envelope(status, self.code(), detail);
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from((*retry_after_secs).max(1)),
            );
        }
        if let ApiError::Unauthorized(message) = self {
            // RFC 6750: tell the client which scheme, and why the token failed.
            let value = format!(
                "Bearer realm=\"machinemate\", error=\"invalid_token\", error_description=\"{}\"",
                message.replace('"', "'")
            );
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
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

pub type ApiResult<T> = Result<T, ApiError>;

/// Maps a named constraint violation to an API error, in one place rather than by
/// string-matching in handlers (realworld-axum-sqlx's `on_constraint`).
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T, E: Into<ApiError>> ResultExt<T> for Result<T, E> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match e.into() {
            ApiError::Database(sqlx::Error::Database(db)) if db.constraint() == Some(name) => f(),
            other => other,
        })
    }
}
