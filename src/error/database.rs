//! What a database error means for the caller, decided once, where the error enters
//! [`ApiError`](super::ApiError): unreachable (503), a timeout (503), input Postgres
//! refused (422), or a fault of ours (500).

use std::panic::Location;

use actix_web::http::StatusCode;

use super::body::{Detail, ValidationIssue, nul_issue};

/// A database error with what it means for the caller and where it entered
/// `ApiError` (the `?` or conversion that turned it into one), for the log.
#[derive(Debug)]
pub struct DatabaseError {
    meaning: Meaning,
    error: sqlx::Error,
    location: &'static Location<'static>,
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// Transparent: the cause chain is sqlx's.
impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// What a database error means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Meaning {
    /// Postgres cannot be reached right now; how, for the log line's `error_kind` (a
    /// label of the `database-unavailable` log-based metric).
    Unreachable(&'static str),
    /// A statement Postgres cancelled at its timeout: the request's deadline came first
    /// (`db::within_deadline`).
    TimedOut,
    /// Text Postgres cannot store (a NUL character, in a path segment or a multipart
    /// field that no extractor checked): the client's input, so a 422 rather than a 500.
    UnstorableText,
    /// A user's row refused because they keep as many as they may; the database's
    /// message names the limit.
    PerUserLimit(String),
    /// A row refused by another `check` constraint: input the validation in front of the
    /// query should have refused.
    CheckViolation,
    /// Anything else: a fault of ours.
    Internal,
}

impl DatabaseError {
    pub(super) fn new(error: sqlx::Error, location: &'static Location<'static>) -> Self {
        DatabaseError {
            meaning: meaning(&error),
            error,
            location,
        }
    }

    pub(super) fn meaning(&self) -> &Meaning {
        &self.meaning
    }

    /// The error as sqlx reported it.
    pub fn sqlx_error(&self) -> &sqlx::Error {
        &self.error
    }

    /// Where the error entered `ApiError`.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The constraint the statement violated, if it violated one.
    pub fn constraint(&self) -> Option<&str> {
        match &self.error {
            sqlx::Error::Database(db) => db.constraint(),
            _ => None,
        }
    }

    pub(super) fn status(&self) -> StatusCode {
        match self.meaning {
            Meaning::Unreachable(_) | Meaning::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            Meaning::UnstorableText | Meaning::PerUserLimit(_) | Meaning::CheckViolation => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Meaning::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(super) fn code(&self) -> &'static str {
        match self.meaning {
            Meaning::Unreachable(_) => "database_unavailable",
            Meaning::TimedOut => "database_timeout",
            Meaning::UnstorableText | Meaning::PerUserLimit(_) | Meaning::CheckViolation => {
                "validation_error"
            }
            Meaning::Internal => "internal_error",
        }
    }

    pub(super) fn detail(&self) -> Detail {
        match &self.meaning {
            Meaning::Unreachable(_) => Detail::Message("Database unavailable".into()),
            Meaning::TimedOut => {
                Detail::Message("The database took too long to answer; try again".into())
            }
            Meaning::UnstorableText => Detail::Issues(vec![nul_issue(vec!["request".into()])]),
            Meaning::PerUserLimit(message) => Detail::Issues(vec![ValidationIssue::new(
                vec!["body".into()],
                "too_many",
                message.clone(),
            )]),
            Meaning::CheckViolation => Detail::Issues(vec![ValidationIssue::new(
                vec!["body".into()],
                "value_error",
                "A value is outside what is accepted",
            )]),
            Meaning::Internal => Detail::Message("Internal server error".into()),
        }
    }
}

/// Sorts a database error by what it means for the caller (the SQLSTATEs are
/// Postgres' own; the constraint names are the migrations').
fn meaning(e: &sqlx::Error) -> Meaning {
    if let Some(kind) = unreachable_kind(e) {
        return Meaning::Unreachable(kind);
    }
    let sqlx::Error::Database(db) = e else {
        return Meaning::Internal;
    };
    match db.code().as_deref() {
        // query_canceled: the statement timeout.
        Some("57014") => Meaning::TimedOut,
        // character_not_in_repertoire, untranslatable_character (jsonb's answer to \u0000).
        Some("22021" | "22P05") => Meaning::UnstorableText,
        // check_violation; `<table>_per_user_limit` (migration 20261204010000) is a
        // user's row count against its limit.
        Some("23514") => match db.constraint() {
            Some(c) if c.ends_with("_per_user_limit") => {
                Meaning::PerUserLimit(db.message().to_owned())
            }
            _ => Meaning::CheckViolation,
        },
        _ => Meaning::Internal,
    }
}

/// The caller's account is deleted: their token was issued before the deletion (the
/// request's scope refuses it, SQLSTATE MM401: migration 20261207011000), or a row of
/// theirs names a profile that is gone (a foreign key to `users`, which every user-owned
/// table names `<table>_user_id_fkey` or `<table>_owner_id_fkey`).
pub(super) fn account_deleted(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("MM401") => true,
            Some("23503") => db
                .constraint()
                .is_some_and(|c| c.ends_with("_user_id_fkey") || c.ends_with("_owner_id_fkey")),
            _ => false,
        },
        _ => false,
    }
}

/// Which way Postgres could not be reached, if it could not: the pool's wait ran out,
/// the network or TLS failed, or the connection broke mid-conversation. A connection
/// cut during its start-up can surface as a protocol error, so those count.
fn unreachable_kind(e: &sqlx::Error) -> Option<&'static str> {
    Some(match e {
        sqlx::Error::PoolTimedOut => "pool_timed_out",
        sqlx::Error::PoolClosed => "pool_closed",
        sqlx::Error::Io(_) => "io",
        sqlx::Error::Tls(_) => "tls",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::WorkerCrashed => "worker_crashed",
        e if connection_ended_by_server(e) => "terminated",
        _ => return None,
    })
}

/// Postgres ended the connection itself or cannot take it: a shutdown, a crash, a
/// restart or `pg_terminate_backend` (SQLSTATE 57P01, 57P02), still starting up
/// (57P03), or a connection exception (class 08). A pooled connection meets it on its
/// next statement after the server restarted; the others in the pool are as dead.
pub fn connection_ended_by_server(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(&*code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use crate::error::{ApiError, ApiResult};

    fn database_error(result: ApiResult<()>) -> super::DatabaseError {
        match result {
            Err(ApiError::Database(e)) => e,
            other => panic!("not a database error: {other:?}"),
        }
    }

    #[test]
    fn a_database_error_keeps_the_place_where_it_entered() {
        fn fails() -> ApiResult<()> {
            Err(sqlx::Error::RowNotFound)?;
            Ok(())
        }
        let line = line!() - 3;
        let location = database_error(fails()).location();
        assert_eq!((location.file(), location.line()), (file!(), line));
    }

    #[test]
    fn unreachable_and_unexpected_errors_answer_as_before() {
        let unreachable = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(unreachable.status_code(), 503);
        assert_eq!(unreachable.code(), "database_unavailable");
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            ApiError::from(sqlx::Error::Io(io)).code(),
            "database_unavailable"
        );
        let unexpected = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(unexpected.status_code(), 500);
        assert_eq!(unexpected.code(), "internal_error");
        assert!(matches!(
            database_error(Err(unexpected)).sqlx_error(),
            sqlx::Error::RowNotFound
        ));
    }
}
