//! The one API error type and its JSON envelope.
//!
//! Every error answers `{"detail": ..., "code": ..., "trace_id": ...}`. `detail` keeps
//! FastAPI's shape: a message, or for invalid input (422) a list of
//! `{loc, msg, type}` issues. 5xx bodies are generic; the cause goes to the log.
//!
//! [`body`] is the envelope; [`database`] reads what a database error means.

mod body;
mod database;

pub use database::connection_ended_by_server;

pub use body::{
    Detail, ErrorBody, LocItem, ValidationIssue, code_for_status, envelope, nul_issue,
    status_envelope,
};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use database::{
    account_deleted, check_violation, database_unreachable, per_user_limit, statement_timed_out,
    unreachable_kind, unstorable_text,
};

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
    /// 501: a feature this deployment has turned off (`FEATURES_OFF`), or, in
    /// development, has no service configured for. Retrying cannot help, so not a 503.
    #[error("{0}")]
    FeatureOff(String),
    /// 503 with `Retry-After` (seconds): the service is up but will not do this before
    /// then (the day's model budget is spent).
    #[error("{detail}")]
    UnavailableUntil {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// 429 with `Retry-After` (seconds): a per-user rate limit or daily quota is spent.
    #[error("{detail}")]
    RateLimited {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The detail of a deleted account's 401 (`src/db/users.rs`, migration 20261207011000).
pub const ACCOUNT_DELETED: &str = "Account deleted";

impl From<sqlx::Error> for ApiError {
    /// A database error, unless it says the caller's account is deleted: then a 401.
    fn from(e: sqlx::Error) -> Self {
        if account_deleted(&e) {
            ApiError::Unauthorized(ACCOUNT_DELETED.into())
        } else {
            ApiError::Database(e)
        }
    }
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
            ApiError::FeatureOff(_) => "feature_off",
            ApiError::RateLimited { code, .. } | ApiError::UnavailableUntil { code, .. } => code,
            ApiError::Database(e) if database_unreachable(e) => "database_unavailable",
            ApiError::Database(e) if statement_timed_out(e) => "database_timeout",
            ApiError::Database(e) if unstorable_text(e) || check_violation(e) => "validation_error",
            ApiError::Database(_) | ApiError::Internal(_) => "internal_error",
        }
    }
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
            ApiError::Unavailable(_) | ApiError::UnavailableUntil { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::FeatureOff(_) => StatusCode::NOT_IMPLEMENTED,
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
                tracing::error!(error = %e, error_kind = unreachable_kind(e), "database unavailable");
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
        }
        | ApiError::UnavailableUntil {
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
