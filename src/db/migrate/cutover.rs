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

use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection, PgTransaction};

use super::migrator::migrator;
use super::report::Report;
use super::shapes::{FASTAPI_COLUMNS, FASTAPI_REQUIRED_TABLES, OUR_TABLES};

const UNPLACEABLE_SQL: &str = include_str!("../../../supabase/cutover/unplaceable.sql");
const ADOPT_SQL: &str = include_str!("../../../supabase/cutover/adopt_fastapi.sql");
const COPY_SQL: &str = include_str!("../../../supabase/cutover/copy_fastapi.sql");
const COPY_MEDIA_SQL: &str = include_str!("../../../supabase/cutover/copy_fastapi_media.sql");

/// What `migrate` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// None of this service's tables (a new Supabase project).
    Empty,
    /// This service's migrations are recorded: apply what is pending.
    Migrated,
    /// The FastAPI backend's schema (`docs/cutover.md`).
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

/// What `migrate` would do on the database `conn` is on, changing nothing
/// (`machinemate-api migrate --check`). On the FastAPI backend's database that is the
/// cutover itself, run by the same code as `migrate` in one transaction and rolled back:
/// its report (every class of row a fresh install would not hold, verify.sql, the time it
/// took), or the error that would stop `migrate`. Otherwise, one line.
pub async fn check(conn: &mut PgConnection) -> anyhow::Result<String> {
    let shape = detect(conn).await?;
    let counts = if shape == Shape::FastApi {
        fastapi_counts(conn).await?
    } else {
        String::new()
    };
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
            let mut tx = conn.begin().await?;
            let report = cut_over_in(&mut tx).await;
            // What stopped the cutover says more than a rollback on a broken connection.
            let rolled_back = tx.rollback().await;
            let report = report?;
            rolled_back?;
            format!(
                "the FastAPI backend's schema ({counts}): migrate cuts over in one transaction \
                 (its tables to fastapi_legacy, {pending} migrations, its rows copied; docs/cutover.md).\n\
                 Rehearsed just now, by the same code, then rolled back (nothing was changed):\n{report}"
            )
        }
    })
}

/// The FastAPI backend's row counts, per table: the runbook's "before".
async fn fastapi_counts(conn: &mut PgConnection) -> anyhow::Result<String> {
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
    Ok(counts.join(", "))
}

/// The rows the new schema cannot hold and no archive-only rule covers, one line each
/// (`supabase/cutover/unplaceable.sql`): the cutover refuses them before changing anything.
async fn unplaceable(conn: &mut PgConnection) -> anyhow::Result<()> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(UNPLACEABLE_SQL)
        .fetch_all(&mut *conn)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = rows
        .iter()
        .map(|(table, key, reason)| format!("public.{table} {key:?}: {reason}"))
        .collect();
    bail!(
        "refusing to migrate: {} row(s) of the FastAPI backend's database have no place in this \
         service's schema; fix them there first (docs/cutover.md, \"What stops a cutover\"); \
         nothing was changed: {}",
        rows.len(),
        named.join("; ")
    )
}

/// The whole cutover inside `tx`, which the caller commits (`migrate`) or rolls back
/// (`migrate --check`): the same statements either way.
async fn cut_over_in(tx: &mut PgTransaction<'_>) -> anyhow::Result<Report> {
    let started = Instant::now();
    unplaceable(tx).await?;
    sqlx::raw_sql(ADOPT_SQL)
        .execute(&mut **tx)
        .await
        .map_err(waited)
        .context("moving the FastAPI backend's tables to fastapi_legacy")?;
    // Each migration runs in a savepoint of this transaction.
    migrator()
        .run(&mut **tx)
        .await
        .map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => waited(e),
            other => other.into(),
        })
        .context("applying supabase/migrations")?;
    for (sql, what) in [
        (COPY_SQL, "users, catalog, favorites and history"),
        (COPY_MEDIA_SQL, "media and identifications"),
    ] {
        sqlx::raw_sql(sql)
            .execute(&mut **tx)
            .await
            .map_err(waited)
            .with_context(|| format!("copying the FastAPI backend's {what}"))?;
    }
    let mut report = Report::read(tx).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A lock the cutover waited for longer than the migration's `lock_timeout` (limits.rs),
/// said as what it means: it gives up rather than queue every request of the live backend
/// behind it.
fn waited(e: sqlx::Error) -> anyhow::Error {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03") => anyhow::anyhow!(
            "another session (the FastAPI backend?) held a lock the cutover needs for longer \
             than the migration's lock_timeout (MIGRATION_LOCK_TIMEOUT_MS); nothing was \
             changed: run it again at a quieter moment ({e})"
        ),
        _ => e.into(),
    }
}

/// Runs the whole cutover in one transaction on `conn` (see the module comment).
pub async fn cut_over(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut tx = conn.begin().await?;
    let report = cut_over_in(&mut tx).await?;
    tx.commit().await?;
    report.log();
    tracing::info!(
        elapsed_ms = report.elapsed.as_millis() as u64,
        "cutover committed"
    );
    Ok(())
}
