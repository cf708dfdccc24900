//! The one API error type and its JSON envelope.
//!
//! Every error answers `{"detail": ..., "code": ..., "trace_id": ...}`. `detail` keeps
//! FastAPI's shape: a message, or for invalid input (422) a list of
//! `{loc, msg, type}` issues. 5xx bodies are generic; the cause goes to the log, once
//! per request ([`log_failures`]), so rendering only renders.
//!
//! [`body`] is the envelope; [`database`] decides what a database error means, once,
//! where it becomes an `ApiError`.

mod body;
mod database;

pub use database::{DatabaseError, connection_ended_by_server};

pub use body::{
    Detail, ErrorBody, LocItem, ValidationIssue, code_for_status, envelope, nul_issue,
    status_envelope,
};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use database::{Meaning, account_deleted};

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
    /// Classified once, where it entered (`From<sqlx::Error>`).
    #[error("database error")]
    Database(#[source] DatabaseError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The detail of a deleted account's 401 (`src/db/users.rs`, migration 20261207011000).
pub const ACCOUNT_DELETED: &str = "Account deleted";

impl From<sqlx::Error> for ApiError {
    /// A database error, unless it says the caller's account is deleted: then a 401.
    /// Where the conversion happened (the `?`) is kept for the log.
    #[track_caller]
    fn from(e: sqlx::Error) -> Self {
        if account_deleted(&e) {
            ApiError::Unauthorized(ACCOUNT_DELETED.into())
        } else {
            ApiError::Database(DatabaseError::new(e, std::panic::Location::caller()))
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
            ApiError::Database(e) => e.code(),
            ApiError::Internal(_) => "internal_error",
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
            ApiError::Database(e) => e.status(),
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            ApiError::Validation(issues) => Detail::Issues(issues.clone()),
            ApiError::Database(e) => e.detail(),
            ApiError::Internal(_) => Detail::Message("Internal server error".into()),
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

/// Logs the failure of a request answered with an [`ApiError`] (actix keeps the error on
/// the response it rendered): the one place failures are logged, not while an answer is
/// rendered, nor where an error is converted (a handler may still turn it into an answer
/// of its own, as `on_constraint` does). Runs inside the request's span, so the line
/// carries the request's ids.
pub async fn log_failures<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let outcome = next.call(req).await;
    let error = match &outcome {
        Ok(response) => response.response().error(),
        Err(error) => Some(error),
    };
    if let Some(error) = error.and_then(|e| e.as_error::<ApiError>()) {
        error.log();
    }
    outcome
}

impl ApiError {
    /// Logs the failure this error stands for, if it is one: a 5xx's cause (with where a
    /// database error entered), or input the database refused that validation should
    /// have caught. Other client errors are not logged: the request's line says how it
    /// ended.
    pub fn log(&self) {
        let e = match self {
            ApiError::Database(e) => e,
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                return;
            }
            _ => return,
        };
        let (location, error) = (e.location(), e.sqlx_error());
        match e.meaning() {
            Meaning::Unreachable(kind) => {
                tracing::error!(error = %error, error_kind = kind, %location, "database unavailable")
            }
            Meaning::TimedOut => tracing::error!(
                error = %error, %location, "statement cancelled at the request's deadline"
            ),
            Meaning::UnstorableText => {
                tracing::warn!(error = %error, %location, "input text refused by the database")
            }
            Meaning::PerUserLimit(_) => {}
            // The validation in front of the query missed a rule the schema holds: still
            // the client's input, so a 422, but worth a look (and a test).
            Meaning::CheckViolation => {
                tracing::warn!(error = %error, %location, "input refused by a check constraint")
            }
            Meaning::Internal => tracing::error!(
                error = %error, error_debug = ?error, %location, "database error"
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Maps a named constraint violation to an API error, in one place rather than by
/// string-matching in handlers (realworld-axum-sqlx's `on_constraint`).
pub trait ResultExt<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    ApiError: From<E>,
{
    #[track_caller]
    fn on_constraint(self, name: &str, f: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        match self {
            Ok(value) => Ok(value),
            Err(e) => Err(match ApiError::from(e) {
                ApiError::Database(db) if db.constraint() == Some(name) => f(),
                other => other,
            }),
        }
    }
}
