//! What a database error means for the caller: unreachable (503), a timeout (503), or
//! input Postgres refused (422).

/// Text Postgres cannot store (a NUL character, in a path segment or a multipart field
/// that no extractor checked): the client's input, so a 422 rather than a 500.
/// SQLSTATE 22021 is `character_not_in_repertoire`, 22P05 `untranslatable_character`
/// (jsonb's answer to `\u0000`).
pub(super) fn unstorable_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")))
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

/// A user's row refused because they keep as many as they may (migration 20261204010000:
/// the constraint `<table>_per_user_limit`): the database's message names the limit.
pub(super) fn per_user_limit(e: &sqlx::Error) -> Option<String> {
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
pub(super) fn check_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23514"))
}

/// A statement Postgres cancelled at its timeout (SQLSTATE 57014): the request's deadline
/// came first (`db::within_deadline`).
pub(super) fn statement_timed_out(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}

/// Errors that mean "Postgres cannot be reached right now" rather than a bug. A
/// connection cut during its start-up can surface as a protocol error, so those count.
pub(super) fn database_unreachable(e: &sqlx::Error) -> bool {
    unreachable_kind(e).is_some()
}

/// Which way Postgres could not be reached, for the log line's `error_kind` (a label of
/// the `database-unavailable` log-based metric): the pool's wait ran out, the network or
/// TLS failed, or the connection broke mid-conversation.
pub(super) fn unreachable_kind(e: &sqlx::Error) -> Option<&'static str> {
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
