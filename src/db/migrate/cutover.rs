//! Cutover from the FastAPI backend's database (docs/cutover.md): `migrate` recognises
//! what it is pointed at before it changes anything.
//!
//! - An empty database, or one this service has migrated: the migrations, as always, each
//!   in its own transaction.
//! - The FastAPI backend's tables in `public`: one transaction holds the whole cutover
//!   (`supabase/cutover/adopt_fastapi.sql`, every migration, `copy_fastapi.sql`). Any
//!   commit part-way would leave a database that neither backend can serve, so a failure
//!   or a killed connection anywhere leaves it exactly as the FastAPI backend had it.
//! - Anything else that holds tables of the same names: refused, naming what was found,
//!   before anything changes.

// The cutover runs on the one session-mode connection `migrate` holds (advisory lock),
// never behind a pooler: its statements are built directly.
#![allow(clippy::disallowed_methods)]

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};

use super::migrator::migrator;
use super::shapes::{FASTAPI_COLUMNS, FASTAPI_REQUIRED_TABLES, OUR_TABLES};

const ADOPT_SQL: &str = include_str!("../../../supabase/cutover/adopt_fastapi.sql");
const COPY_SQL: &str = include_str!("../../../supabase/cutover/copy_fastapi.sql");

/// What `migrate` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// None of this service's tables (a new Supabase project).
    Empty,
    /// This service's migrations are recorded: apply what is pending.
    Migrated,
    /// The FastAPI backend's schema (`../shared/legacy-database.md`).
    FastApi,
}

/// Looks at the database `conn` is on, without changing it.
pub async fn detect(conn: &mut PgConnection) -> anyhow::Result<Shape> {
    let first = migrator().iter().next().map(|m| m.version).unwrap_or(0);
    let migrated: bool =
        sqlx::query_scalar("select to_regclass('supabase_migrations.sqlx_migrations') is not null")
            .fetch_one(&mut *conn)
            .await?;
    if migrated {
        let recorded: bool = sqlx::query_scalar(
            "select exists (select 1 from supabase_migrations.sqlx_migrations where version = $1)",
        )
        .bind(first)
        .fetch_one(&mut *conn)
        .await?;
        if recorded {
            return Ok(Shape::Migrated);
        }
    }

    let present: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables \
         where table_schema = 'public' and table_name = any($1) order by table_name",
    )
    .bind(&OUR_TABLES[..])
    .fetch_all(&mut *conn)
    .await?;
    if present.is_empty() {
        return Ok(Shape::Empty);
    }
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text from information_schema.columns \
         where table_schema = 'public' order by table_name, ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let has = |table: &str, column: &str| columns.iter().any(|(t, c, _)| t == table && c == column);
    if has("users", "sync_version") {
        bail!(
            "refusing to migrate: public.users has this service's columns, but \
             supabase_migrations.sqlx_migrations records none of its migrations \
             (applied by another tool?); nothing was changed"
        );
    }
    for (i, (table, wanted)) in FASTAPI_COLUMNS.iter().enumerate() {
        let exists = present.iter().any(|p| p == table);
        if !exists && i < FASTAPI_REQUIRED_TABLES {
            bail!(
                "refusing to migrate: public holds {} but no {table}, so it is neither an empty \
                 database, this service's, nor the FastAPI backend's; nothing was changed",
                present.join(", ")
            );
        }
        if !exists {
            continue;
        }
        for (column, types) in wanted.iter() {
            let found = columns
                .iter()
                .find(|(t, c, _)| t == table && c == column)
                .map(|(_, _, ty)| ty.as_str());
            match found {
                Some(ty) if types.split('|').any(|t| t == ty) => {}
                Some(ty) => bail!(
                    "refusing to migrate: public.{table}.{column} is {ty}, where the FastAPI \
                     backend's schema has {}; nothing was changed",
                    types.replace('|', " or ")
                ),
                None => bail!(
                    "refusing to migrate: public.{table} has no column {column}, so it is \
                     neither this service's schema nor the FastAPI backend's; nothing was changed"
                ),
            }
        }
    }
    let foreign: Vec<&String> = present
        .iter()
        .filter(|p| !FASTAPI_COLUMNS.iter().any(|(t, _)| t == p))
        .collect();
    if let Some(table) = foreign.first() {
        bail!(
            "refusing to migrate: public.{table} exists beside the FastAPI backend's tables; \
             nothing was changed"
        );
    }
    Ok(Shape::FastApi)
}

/// What `migrate` would do on the database `conn` is on, in one line, changing nothing
/// (`machinemate-api migrate --check`); the FastAPI backend's row counts included, as the
/// "before" of the runbook's check.
pub async fn plan(conn: &mut PgConnection) -> anyhow::Result<String> {
    let shape = detect(conn).await?;
    let applied: Vec<i64> = if shape == Shape::Migrated {
        sqlx::query_scalar("select version from supabase_migrations.sqlx_migrations where success")
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    let pending = migrator()
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    Ok(match shape {
        Shape::Empty => format!("an empty database: {pending} migrations to apply"),
        Shape::Migrated => format!("this service's schema: {pending} migrations pending"),
        Shape::FastApi => {
            let mut counts = Vec::new();
            for (table, _) in FASTAPI_COLUMNS {
                let count: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "select (select count(*) from public.{table}) \
                     where to_regclass('public.{table}') is not null"
                )))
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(count) = count {
                    counts.push(format!("{table} {count}"));
                }
            }
            format!(
                "the FastAPI backend's schema ({}): migrate would cut over in one transaction \
                 (its tables to fastapi_legacy, {pending} migrations, its rows copied; docs/cutover.md)",
                counts.join(", ")
            )
        }
    })
}

/// Runs the whole cutover in one transaction on `conn` (see the module comment).
pub async fn cut_over(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(ADOPT_SQL)
        .execute(&mut *tx)
        .await
        .context("moving the FastAPI backend's tables to fastapi_legacy")?;
    // Each migration runs in a savepoint of this transaction.
    migrator()
        .run(&mut *tx)
        .await
        .context("applying supabase/migrations")?;
    sqlx::raw_sql(COPY_SQL)
        .execute(&mut *tx)
        .await
        .context("copying the FastAPI backend's rows")?;
    for (table, _) in FASTAPI_COLUMNS {
        let counts: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select (select count(*) from fastapi_legacy.{table}), \
                    (select count(*) from public.{table}) \
             where to_regclass('fastapi_legacy.{table}') is not null"
        )))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((before, after)) = counts {
            tracing::info!(table, fastapi_rows = before, rows = after, "cutover copied");
        }
    }
    tx.commit().await?;
    Ok(())
}
