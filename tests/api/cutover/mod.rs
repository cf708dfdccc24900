//! Cutover from the FastAPI backend's live database (docs/cutover.md): its fixture
//! (`tests/fixtures/fastapi_legacy.sql`, written from the description of that database)
//! migrated in place by the real `machinemate-api migrate`, then read row by row through
//! the API as each of its users; an interrupted cutover; databases in neither shape.

mod interrupted;
mod migrated;
mod refused;
mod rolled_back;
mod schema;

use std::collections::BTreeMap;
use std::process::Output;

use machinemate_api::db::migrate;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{database_url, empty_database};

pub const FIXTURE: &str = include_str!("../../fixtures/fastapi_legacy.sql");

/// The fixture's users (auth.users ids).
pub const ALICE: &str = "0a11ce00-0000-4000-8000-000000000001";
pub const BOB: &str = "0b0b0000-0000-4000-8000-000000000002";
pub const CAROL: &str = "0ca20100-0000-4000-8000-000000000003";
/// Signed up by phone: no email, so the FastAPI backend made no profile.
pub const DAVE: &str = "0da4e000-0000-4000-8000-000000000004";
/// A profile and nothing else.
pub const ERIN: &str = "0e214000-0000-4000-8000-000000000005";

/// A database as the FastAPI backend left it: Supabase's bootstrap, then the fixture.
/// Returns its name and a superuser pool on it.
pub async fn fastapi_database() -> (String, PgPool) {
    let name = empty_database().await;
    let pool = PgPool::connect(&database_url(&name)).await.unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    sqlx::raw_sql(FIXTURE).execute(&pool).await.unwrap();
    (name, pool)
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
