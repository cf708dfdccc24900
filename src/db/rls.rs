//! The user-scoped transaction: every query about a user's own data runs as role
//! `machinemate_request` (a member of `authenticated`, so the policies written for it
//! apply, but one the Data API cannot take: migration 20261204000000) with the caller's
//! JWT claims in `request.jwt.claims`, as Supabase's Data API would, so Row Level
//! Security guards each row even if a handler forgets a `where user_id = ...` (defence
//! in depth).

use futures_util::TryStreamExt;
use sqlx::Either;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Postgres, Transaction};

use super::Db;
use super::pool::postgres_call;
use super::query::Statements;

impl Statements for UserTx {
    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// An open transaction scoped to one user. Commit it, or it rolls back on drop.
pub struct UserTx {
    tx: Transaction<'static, Postgres>,
    persistent: bool,
}

impl UserTx {
    /// Begins a transaction as `machinemate_request` with `claims` (which must hold `sub`).
    pub async fn begin(db: &Db, claims: &str) -> Result<Self, sqlx::Error> {
        // One round trip: BEGIN and the settings (see `scope`) travel as one simple query.
        let statement = format!("BEGIN; {}", scope(claims, db.statement_budget()));
        // The only text spliced in is `pg_literal`'s output, a closed string literal.
        let started = std::time::Instant::now();
        let tx = db.begin_with(sqlx::AssertSqlSafe(statement)).await;
        super::health::waited(started, tx.is_ok());
        super::health::note(&tx);
        let tx = tx?;
        Ok(UserTx {
            tx,
            persistent: db.persistent(),
        })
    }

    /// Runs one read-only query as the user with `claims` in a single round trip, and
    /// decodes its rows.
    ///
    /// A [`UserTx`] costs three round trips for one `select`: BEGIN with the settings,
    /// the query (prepared, bound and executed in one go), and COMMIT. Here all of it
    /// travels as one simple-protocol message (`BEGIN READ ONLY; <settings>; <query>;
    /// COMMIT`), which Postgres runs in order and answers at once; values are inlined
    /// as literals by [`ReadQuery`], since simple queries take no parameters. Rows come
    /// back in text format, which sqlx decodes as well as binary. One message also
    /// suits a transaction pooler, which may not hold a server connection between the
    /// extended protocol's round trips outside a transaction.
    ///
    /// When anything fails part-way, Postgres skips the rest of the message and leaves
    /// the session in the failed transaction, so the connection is closed rather than
    /// returned to the pool; the same when the caller gives up mid-way.
    pub async fn read<R>(db: &Db, claims: &str, query: ReadQuery) -> Result<Vec<R>, sqlx::Error>
    where
        R: for<'r> FromRow<'r, PgRow>,
    {
        let result = postgres_call(async {
            let started = std::time::Instant::now();
            let conn = db.acquire().await;
            super::health::waited(started, conn.is_ok());
            let statement = format!(
                "BEGIN READ ONLY; {}; {}; COMMIT",
                scope(claims, db.statement_budget()),
                query.sql
            );
            in_one_message(ClosedUnlessFinished(Some(conn?)), statement).await
        })
        .await;
        super::health::note(&result);
        result
    }

    /// Runs one of the functions that scope themselves to the caller and read (migration
    /// 20261208000000) and decodes its rows: the cheapest scoped read there is.
    ///
    /// On a session's own connection the call is a prepared statement, one Bind/Execute
    /// whose plan Postgres keeps: no BEGIN or COMMIT (the statement is its own
    /// transaction, and the scope ends with it), no scope statement, nothing parsed, rows
    /// in binary. It is bounded by the connection's default statement timeout, which
    /// ends it by the request's deadline as long as it is sent early in the request
    /// ([`Db::session_timeout_fits`]). Later in a request, or behind a transaction
    /// pooler (no prepared statements, no default timeout), the call travels as one
    /// simple-protocol message with the time left as its timeout: `BEGIN READ ONLY;
    /// SET LOCAL statement_timeout = ...; SELECT * FROM <function>(<literals>); COMMIT`.
    pub async fn call<R>(db: &Db, claims: &str, call: ScopedCall) -> Result<Vec<R>, sqlx::Error>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let result = postgres_call(async {
            let started = std::time::Instant::now();
            let conn = db.acquire().await;
            super::health::waited(started, conn.is_ok());
            let mut conn = ClosedUnlessFinished(Some(conn?));
            if db.session_timeout_fits() {
                let sql = call.prepared();
                // `sql` is program text: the function's name and placeholders.
                let mut query = db.query_as::<R>(sqlx::AssertSqlSafe(sql)).bind(claims);
                for arg in call.args {
                    query = match arg {
                        Arg::Text(text) => query.bind(text),
                        Arg::Int(n) => query.bind(n),
                    };
                }
                let rows = query
                    .fetch_all(&mut **conn.0.as_mut().expect("held until finished"))
                    .await;
                // An error Postgres reported ended the statement's own transaction: the
                // session is clean. Anything else (a broken or abandoned exchange) is not.
                if matches!(rows, Ok(_) | Err(sqlx::Error::Database(_))) {
                    conn.finished();
                }
                return rows;
            }
            let timeout = db.statement_budget().map_or(0, |t| t.as_millis());
            let statement = format!(
                "BEGIN READ ONLY; SET LOCAL statement_timeout = {timeout}; {}; COMMIT",
                call.literal(claims)
            );
            in_one_message(conn, statement).await
        })
        .await;
        super::health::note(&result);
        result
    }

    /// Runs `f` in a transaction scoped to the user with `claims`, committing when it
    /// succeeds (and rolling back when it fails).
    pub async fn run<T, E: From<sqlx::Error>>(
        db: &Db,
        claims: &str,
        f: impl AsyncFnOnce(&mut UserTx) -> Result<T, E>,
    ) -> Result<T, E> {
        postgres_call(async {
            let mut tx = UserTx::begin(db, claims).await?;
            let value = f(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        })
        .await
    }

    /// The connection, for queries inside the transaction.
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// The statement that scopes the current transaction to the user with `claims`: role
/// `machinemate_request` and the claims, both local to the transaction, so nothing leaks to
/// the next user of the pooled connection (also under a transaction pooler). Simple
/// queries take no bind parameters, so the claims go in as an escaped literal (see
/// `pg_literal`). `idle_in_transaction_session_timeout` lets Postgres end the
/// transaction if its client vanishes mid-way (a black-holed connection), releasing its
/// row locks (the user's row while a sync version is taken) within seconds, not when
/// TCP gives up. A request's statements follow each other in milliseconds.
/// `statement_timeout` is what is left of the request's deadline ([`Db::statement_budget`]):
/// a request answered 503 at its deadline leaves no query running behind it.
///
/// The settings are made by `public.machinemate_scope` (migration 20261206000000), whose
/// plan Postgres keeps per connection, rather than by `set_config` calls it would parse
/// and plan on every request.
fn scope(claims: &str, budget: Option<std::time::Duration>) -> String {
    let timeout = budget.map_or_else(|| "NULL".to_owned(), |t| t.as_millis().to_string());
    format!(
        "SELECT public.machinemate_scope({}, {timeout})",
        pg_literal(claims)
    )
}

/// Sends `statement`, a transaction in one simple-protocol message whose third
/// statement (after BEGIN and one that returns at most a row) is the query, and decodes
/// the query's rows. The connection goes back to the pool only when all four statements
/// completed.
async fn in_one_message<R>(
    mut conn: ClosedUnlessFinished,
    statement: String,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> FromRow<'r, PgRow>,
{
    // Statement 0 is BEGIN, 1 the settings (skipped), 2 the query, 3 COMMIT.
    const QUERY: usize = 2;
    let mut rows = Vec::new();
    let mut completed = 0;
    {
        // `statement` holds only program text and literals (`pg_literal`, integers).
        let mut results = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .fetch_many(&mut **conn.0.as_mut().expect("held until finished"));
        while let Some(result) = results.try_next().await? {
            match result {
                Either::Left(_) => completed += 1,
                Either::Right(row) if completed == QUERY => rows.push(R::from_row(&row)?),
                Either::Right(_) => {}
            }
        }
    }
    if completed != QUERY + 2 {
        return Err(sqlx::Error::Protocol(format!(
            "a scoped read completed {completed} statements, not {}",
            QUERY + 2
        )));
    }
    conn.finished();
    Ok(rows)
}

/// A call of one of the functions that scope themselves to the caller and read
/// (migration 20261208000000), for [`UserTx::call`]: the function's name, written in
/// the program, and the arguments after the claims, each typed.
#[derive(Debug, Clone)]
pub struct ScopedCall {
    function: &'static str,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    Text(Option<String>),
    Int(i64),
}

impl ScopedCall {
    /// `public.<function>(claims, ...)`.
    pub fn new(function: &'static str) -> Self {
        ScopedCall {
            function,
            args: Vec::new(),
        }
    }

    /// A text argument (`NULL` for `None`).
    pub fn text(mut self, value: Option<&str>) -> Self {
        self.args.push(Arg::Text(value.map(str::to_owned)));
        self
    }

    /// An integer argument (a `bigint`).
    pub fn int(mut self, value: i64) -> Self {
        self.args.push(Arg::Int(value));
        self
    }

    /// `select * from public.<function>($1, $2::text, $3::bigint, ...)`: the claims first.
    fn prepared(&self) -> String {
        let mut sql = format!("select * from public.{}($1", self.function);
        for (i, arg) in self.args.iter().enumerate() {
            let cast = match arg {
                Arg::Text(_) => "text",
                Arg::Int(_) => "bigint",
            };
            sql.push_str(&format!(", ${}::{cast}", i + 2));
        }
        sql.push(')');
        sql
    }

    /// The same call with every argument a literal, for the simple protocol.
    fn literal(&self, claims: &str) -> String {
        let mut query = ReadQuery::new("SELECT * FROM public.")
            .sql(self.function)
            .sql("(")
            .text(Some(claims));
        for arg in &self.args {
            query = match arg {
                Arg::Text(text) => query.sql(", ").text(text.as_deref()).sql("::text"),
                Arg::Int(n) => query.sql(", ").int(*n).sql("::bigint"),
            };
        }
        query.sql(")").sql
    }
}

/// A pooled connection that is closed, not returned to the pool, unless
/// [`finished`](Self::finished) says its session is clean.
struct ClosedUnlessFinished(Option<PoolConnection<Postgres>>);

impl ClosedUnlessFinished {
    fn finished(mut self) {
        // Dropped here: back to the pool.
        self.0.take();
    }
}

impl Drop for ClosedUnlessFinished {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// A read-only query for [`UserTx::read`]: SQL text written in the program, and values
/// that enter only through typed methods, each rendered as a literal.
#[derive(Debug, Clone)]
pub struct ReadQuery {
    sql: String,
}

impl ReadQuery {
    pub fn new(sql: &'static str) -> Self {
        ReadQuery { sql: sql.into() }
    }

    /// More SQL text.
    pub fn sql(mut self, sql: &'static str) -> Self {
        self.sql.push_str(sql);
        self
    }

    /// `sql` with each `$1`, `$2`, ... replaced by `values[0]`, `values[1]`, ... as a
    /// literal, so a query reads whole, as one with bind parameters would. A `$n`
    /// without a value is a mistake in the program: it panics.
    pub fn with(sql: &'static str, values: &[Literal<'_>]) -> Self {
        let mut query = ReadQuery {
            sql: String::with_capacity(sql.len() + 64),
        };
        let mut rest = sql;
        while let Some(at) = rest.find('$') {
            query.sql.push_str(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let value = rest[at + 1..at + 1 + digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| values.get(n.checked_sub(1)?));
            match value {
                Some(value) => query.push(value),
                None => panic!("`{}` has no value in {sql}", &rest[at..at + 1 + digits]),
            }
            rest = &rest[at + 1 + digits..];
        }
        query.sql.push_str(rest);
        query
    }

    /// A text value (`NULL` for `None`), as a closed escape-string literal.
    pub fn text(mut self, value: Option<&str>) -> Self {
        self.push(&Literal::Text(value));
        self
    }

    /// An integer; a negative one in parentheses, so that no `-` can follow another
    /// and start a comment.
    pub fn int(mut self, value: i64) -> Self {
        self.push(&Literal::Int(value));
        self
    }

    fn push(&mut self, value: &Literal<'_>) {
        match *value {
            Literal::Text(Some(v)) => self.sql.push_str(&pg_literal(v)),
            Literal::Text(None) => self.sql.push_str("NULL"),
            Literal::Int(v) if v < 0 => self.sql.push_str(&format!("({v})")),
            Literal::Int(v) => self.sql.push_str(&v.to_string()),
        }
    }
}

/// A value of a [`ReadQuery`], written into it as a literal.
#[derive(Debug, Clone, Copy)]
pub enum Literal<'a> {
    /// Text, or `NULL`.
    Text(Option<&'a str>),
    Int(i64),
}

/// `text` as a Postgres escape-string literal (`E'...'`): backslashes and quotes are
/// doubled, which is complete for E-strings whatever `standard_conforming_strings` says.
/// Postgres text cannot hold NUL: it becomes the escape `\000`, which Postgres refuses
/// with SQLSTATE 22021, as it refuses a bound NUL (a 422, see `src/error/database.rs`), rather
/// than being dropped and changing the value. (Serialized JSON never holds a NUL.)
fn pg_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            '\0' => out.push_str("\\000"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::{Literal, ReadQuery, pg_literal};

    #[test]
    fn placeholders_are_replaced_by_literals() {
        let query = ReadQuery::with(
            "select $1::text is null, $2, $1, $3 limit $10",
            &[
                Literal::Text(Some("it's")),
                Literal::Text(None),
                Literal::Int(-1),
                Literal::Int(0),
                Literal::Int(0),
                Literal::Int(0),
                Literal::Int(0),
                Literal::Int(0),
                Literal::Int(0),
                Literal::Int(500),
            ],
        );
        assert_eq!(
            query.sql,
            "select E'it''s'::text is null, NULL, E'it''s', (-1) limit 500"
        );
    }

    #[test]
    #[should_panic(expected = "`$2` has no value")]
    fn a_placeholder_without_a_value_is_a_mistake() {
        ReadQuery::with("select $1, $2", &[Literal::Int(1)]);
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(pg_literal("plain"), "E'plain'");
        assert_eq!(
            pg_literal(r#"{"n":"O'Brien \\ '); drop table users; --"}"#),
            r#"E'{"n":"O''Brien \\\\ ''); drop table users; --"}'"#
        );
        assert_eq!(pg_literal("a\0b"), r"E'a\000b'");
    }
}
