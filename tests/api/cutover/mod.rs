//! Cutover from the FastAPI backend's database (docs/cutover.md), on two fixtures: the
//! schema a fresh install of the FastAPI project has (`tests/fixtures/fastapi_legacy.sql`)
//! and the database the live project really is (`fastapi_live_schema.sql` +
//! `fastapi_live_rows.sql`: hand-made tables without foreign keys, rows of every awkward
//! kind). Each is rehearsed with `migrate --check`, migrated in place by the real binary,
//! read row by row through the API as each of its users, written to, and rolled back
//! (`both.rs`); then what only one of them shows, an interrupted cutover, and databases
//! the cutover refuses.

mod both;
mod interrupted;
mod live;
mod live_access;
mod migrated;
mod readback;
mod refused;
mod rehearsal;
mod rolled_back;
mod schema;
mod snapshot;

use std::collections::BTreeMap;
use std::process::Output;

use machinemate_api::db::migrate;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, database_url, empty_database};

pub const FIXTURE: &str = include_str!("../../fixtures/fastapi_legacy.sql");
pub const LIVE_SCHEMA: &str = include_str!("../../fixtures/fastapi_live_schema.sql");
pub const LIVE_ROWS: &str = include_str!("../../fixtures/fastapi_live_rows.sql");
const VERIFY: &str = include_str!("../../../supabase/cutover/verify.sql");

/// The two databases the cutover is tried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// The FastAPI project's schema as its migrations write it on an empty database.
    FreshInstall,
    /// The live project as it was really built (docs/cutover.md).
    Live,
}

impl Fixture {
    /// A database holding this fixture on Supabase's bootstrap: its name and a superuser
    /// pool on it.
    pub async fn database(self) -> (String, PgPool) {
        let name = empty_database().await;
        let pool = PgPool::connect(&database_url(&name)).await.unwrap();
        migrate::apply_local_bootstrap(&pool).await.unwrap();
        let parts: &[&str] = match self {
            Fixture::FreshInstall => &[FIXTURE],
            Fixture::Live => &[LIVE_SCHEMA, LIVE_ROWS],
        };
        for sql in parts {
            sqlx::raw_sql(*sql).execute(&pool).await.unwrap();
        }
        (name, pool)
    }

    /// This fixture migrated and seeded by the real binary, the app on it (with Auth and
    /// storage), and a superuser pool.
    pub async fn migrated(self) -> (TestApp, PgPool) {
        let (name, pool) = self.database().await;
        run_ok("migrate", &name);
        run_ok("seed", &name);
        let app = TestApp::builder()
            .auth()
            .storage()
            .on_database(&name)
            .spawn()
            .await;
        (app, pool)
    }
}

/// The live fixture's users (`fastapi_live_rows.sql`).
pub mod live_users {
    /// A display name of 120 characters, a profile untouched since 2024.
    pub const ADA: &str = "a0a0a0a0-0000-4000-8000-000000000001";
    /// Percentages, machines the catalog lacks, sources of any case, a 1,500-character note.
    pub const BEN: &str = "b0b0b0b0-0000-4000-8000-000000000002";
    /// Signed in, but their profile was deleted by hand: their rows stayed.
    pub const CY: &str = "c0c0c0c0-0000-4000-8000-000000000003";
    /// Photos under the phone's own file names.
    pub const DEE: &str = "d0d0d0d0-0000-4000-8000-000000000004";
    /// No account at all any more (deleted in Supabase Auth); their rows stayed.
    pub const GONE: &str = "e0e0e0e0-0000-4000-8000-000000000005";
    pub const FAY: &str = "f0f0f0f0-0000-4000-8000-000000000006";
}

/// The fixture's users (auth.users ids).
pub const ALICE: &str = "0a11ce00-0000-4000-8000-000000000001";
pub const BOB: &str = "0b0b0000-0000-4000-8000-000000000002";
pub const CAROL: &str = "0ca20100-0000-4000-8000-000000000003";
/// Signed up by phone: no email, so the FastAPI backend made no profile.
pub const DAVE: &str = "0da4e000-0000-4000-8000-000000000004";
/// A profile and nothing else.
pub const ERIN: &str = "0e214000-0000-4000-8000-000000000005";

/// A database as a fresh install of the FastAPI backend left it.
pub async fn fastapi_database() -> (String, PgPool) {
    Fixture::FreshInstall.database().await
}

/// Runs the real binary (`migrate`, `seed`, `migrate --check`) on a database, with JSON
/// logs.
pub fn run(command: &str, database: &str) -> Output {
    crate::binary::command()
        .args(command.split(' '))
        .env("DATABASE_URL", database_url(database))
        .env("LOG_FORMAT", "json")
        .output()
        .unwrap()
}

/// `run`, which must succeed.
pub fn run_ok(command: &str, database: &str) {
    let output = run(command, database);
    assert!(
        output.status.success(),
        "{command}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The log lines at ERROR of a command's output.
pub fn error_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .filter(|l| l.contains("\"severity\":\"ERROR\""))
        .map(str::to_owned)
        .collect()
}

/// Everything a migration could change, as text: each table's rows (hashed) in the
/// schemas the service touches, and the policies, triggers, functions and views.
pub async fn fingerprint(pool: &PgPool) -> BTreeMap<String, String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select table_schema::text, table_name::text from information_schema.tables \
         where table_schema in ('public', 'fastapi_legacy', 'auth', 'storage', 'supabase_migrations') \
         order by 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut print = BTreeMap::new();
    for (schema, table) in tables {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            r#"select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from "{schema}"."{table}" t"#
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        print.insert(format!("{schema}.{table}"), rows);
    }
    for (what, sql) in [
        (
            "columns",
            "select table_schema || '.' || table_name || '.' || column_name || ' ' || data_type \
             from information_schema.columns where table_schema in ('public', 'fastapi_legacy')",
        ),
        (
            "policies",
            "select schemaname || '.' || tablename || ':' || policyname || ' ' || cmd || ' ' \
                    || coalesce(qual, '') || ' ' || coalesce(with_check, '') from pg_policies",
        ),
        (
            "triggers",
            "select tgrelid::regclass::text || ':' || pg_get_triggerdef(oid) from pg_trigger \
             where not tgisinternal",
        ),
        (
            "functions",
            "select oid::regprocedure::text || ' ' || md5(prosrc) from pg_proc \
             where pronamespace in ('public'::regnamespace, 'auth'::regnamespace) \
                or pronamespace::regnamespace::text = 'fastapi_legacy'",
        ),
        ("schemas", "select nspname::text from pg_namespace"),
    ] {
        let value: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select string_agg(x, ',' order by x) from ({sql}) t (x)"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        print.insert(what.to_owned(), value.unwrap_or_default());
    }
    print
}

/// Rows of a query, as JSON objects.
pub async fn rows(pool: &PgPool, sql: &str) -> Vec<Value> {
    let json: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select coalesce(json_agg(r), '[]') from ({sql}) r"
    )))
    .fetch_one(pool)
    .await
    .unwrap();
    json.as_array().unwrap().clone()
}

/// `verify.sql`'s lines: table -> (fastapi_rows, carried, missing, kept_back).
pub async fn verified(pool: &sqlx::PgPool) -> Vec<(String, [i64; 4])> {
    use sqlx::Row;
    sqlx::raw_sql(VERIFY)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), [r.get(1), r.get(2), r.get(3), r.get(4)]))
        .collect()
}
