//! The user-scoped transaction: every query about a user's own data runs as role
//! `authenticated` with the caller's JWT claims in `request.jwt.claims`, exactly as
//! Supabase's Data API does, so Row Level Security guards each row even if a handler
//! forgets a `where user_id = ...` (defence in depth).

use crate::telemetry::metrics::{self, Upstream};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::Db;

/// An open transaction scoped to one user. Commit it, or it rolls back on drop.
pub struct UserTx {
    tx: Transaction<'static, Postgres>,
    persistent: bool,
}

impl UserTx {
    /// Begins a transaction as `authenticated` with `claims` (which must hold `sub`).
    pub async fn begin(db: &Db, claims: &Value) -> Result<Self, sqlx::Error> {
        // One round trip: BEGIN and both settings travel as one simple query. The settings
        // are local to this transaction, so nothing leaks to the next user of the pooled
        // connection (also under a transaction pooler). Simple queries take no bind
        // parameters, so the claims go in as an escaped literal (see `pg_literal`).
        // `idle_in_transaction_session_timeout` lets Postgres end the transaction if its
        // client vanishes mid-way (a black-holed connection), releasing its row locks
        // (the user's row while a sync version is taken) within seconds, not when TCP
        // gives up. A request's statements follow each other in milliseconds.
        let statement = format!(
            "BEGIN; SELECT set_config('role', 'authenticated', true), \
             set_config('request.jwt.claims', {}, true), \
             set_config('idle_in_transaction_session_timeout', '3000', true)",
            pg_literal(&claims.to_string())
        );
        // The only text spliced in is `pg_literal`'s output, a closed string literal.
        let started = std::time::Instant::now();
        let tx = db.begin_with(sqlx::AssertSqlSafe(statement)).await;
        metrics::pool_wait(started);
        let tx = tx?;
        Ok(UserTx {
            tx,
            persistent: db.persistent(),
        })
    }

    /// Runs `f` in a transaction scoped to the user with `claims`, committing when it
    /// succeeds (and rolling back when it fails).
    pub async fn run<T, E: From<sqlx::Error>>(
        db: &Db,
        claims: &Value,
        f: impl AsyncFnOnce(&mut UserTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let started = std::time::Instant::now();
        let result = async {
            let mut tx = UserTx::begin(db, claims).await?;
            let value = f(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        metrics::upstream_call(Upstream::Postgres, started, result.is_ok());
        result
    }

    /// The connection, for queries inside the transaction.
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub fn persistent(&self) -> bool {
        self.persistent
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// `text` as a Postgres escape-string literal (`E'...'`): backslashes and quotes are
/// doubled, which is complete for E-strings whatever `standard_conforming_strings` says.
/// Serialized JSON never holds a NUL byte (serde escapes control characters).
fn pg_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::pg_literal;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(pg_literal("plain"), "E'plain'");
        assert_eq!(
            pg_literal(r#"{"n":"O'Brien \\ '); drop table users; --"}"#),
            r#"E'{"n":"O''Brien \\\\ ''); drop table users; --"}'"#
        );
        assert_eq!(pg_literal("a\0b"), "E'ab'");
    }
}
