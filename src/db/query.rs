//! One door for statements: [`Statements`] builds every query with its persistence set
//! by where it runs. On a session-mode connection statements are prepared by name and
//! cached per connection; behind a transaction-mode pooler (Supavisor or PgBouncer on
//! 6543) each transaction may land on another server connection, where a statement
//! prepared earlier does not exist, so they are sent unnamed. Forgetting that on one
//! query broke it only behind the pooler, so `sqlx::query*` are disallowed elsewhere
//! (`clippy.toml`).

#![allow(clippy::disallowed_methods)]

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{FromRow, Postgres, SqlSafeStr};

/// Builds statements for a pool ([`super::Db`]) or a user's transaction
/// ([`super::rls::UserTx`]).
pub trait Statements {
    /// Whether statements may be prepared by name and cached (false behind a
    /// transaction-mode pooler).
    fn persistent(&self) -> bool;

    fn query<'q>(&self, sql: impl SqlSafeStr) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.persistent())
    }

    fn query_as<'q, T>(&self, sql: impl SqlSafeStr) -> QueryAs<'q, Postgres, T, PgArguments>
    where
        T: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql).persistent(self.persistent())
    }

    fn query_scalar<'q, T>(&self, sql: impl SqlSafeStr) -> QueryScalar<'q, Postgres, T, PgArguments>
    where
        (T,): for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.persistent())
    }
}
