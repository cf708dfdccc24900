//! Schema migrations (`supabase/migrations/`, embedded at build time, [`migrator`]),
//! the cutover from the FastAPI backend's database ([`cutover`], recognising the
//! shapes in [`shapes`]), the local Supabase bootstrap, and the catalog seed.

// Migrations need a session-mode connection (advisory locks), never a pooler: their
// statements are built directly.
#![allow(clippy::disallowed_methods)]

use anyhow::Context;
use sqlx::{PgConnection, PgPool};

mod cutover;
mod limits;
mod migrator;
mod report;
mod shapes;

pub use migrator::migrator;

use crate::config::MigrationLimits;
use cutover::Shape;

/// The local stand-in for what Supabase provides (roles, `auth`, `storage`).
pub const LOCAL_BOOTSTRAP_SQL: &str = include_str!("../../../supabase/local/bootstrap.sql");
/// The catalog (Supabase CLI seed file); idempotent.
pub const SEED_SQL: &str = include_str!("../../../supabase/seed.sql");

/// Serialises `migrate` runs on one database (a Cloud Run job retried while the first
/// attempt still runs, say), so the shape seen is the shape changed.
const MIGRATE_LOCK: i64 = 0x6d61_6368_696e_6501;

/// [`run_migrations_within`] the default [`MigrationLimits`].
pub async fn run_migrations(pool: &PgPool) -> anyhow::Result<()> {
    run_migrations_within(pool, &MigrationLimits::default()).await
}

/// Applies pending migrations; a no-op when all are applied. On the FastAPI backend's
/// database it performs the cutover (`cutover`); on a database in neither shape it stops
/// before changing anything. Every statement runs within `limits` ([`limits`]). Needs a
/// session-mode connection (it takes advisory locks), not a transaction-mode pooler.
pub async fn run_migrations_within(pool: &PgPool, limits: &MigrationLimits) -> anyhow::Result<()> {
    locked(pool, limits, async |conn| {
        match cutover::detect(conn).await? {
            Shape::FastApi => {
                tracing::info!(
                    "the FastAPI backend's schema found: cutting over (docs/cutover.md)"
                );
                cutover::cut_over(conn).await
            }
            Shape::Empty | Shape::Migrated => migrator()
                .run(&mut *conn)
                .await
                .context("applying supabase/migrations"),
        }
    })
    .await
}

/// What `run_migrations_within` would do, changing nothing: on the FastAPI backend's
/// database, the cutover itself, within the same `limits`, in a transaction that is
/// rolled back, with its report.
pub async fn check_within(pool: &PgPool, limits: &MigrationLimits) -> anyhow::Result<String> {
    locked(pool, limits, async |conn| cutover::check(conn).await).await
}

/// Runs `work` on one connection holding `MIGRATE_LOCK`, within `limits`.
async fn locked<T>(
    pool: &PgPool,
    limits: &MigrationLimits,
    work: impl AsyncFnOnce(&mut PgConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut conn = pool.acquire().await?;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(MIGRATE_LOCK)
        .execute(&mut *conn)
        .await?;
    // The migrator's `create ... if not exists` would log "already exists, skipping" on
    // every run (each scripts/dev start, each deploy): only warnings and errors show.
    sqlx::query("set client_min_messages = warning")
        .execute(&mut *conn)
        .await?;
    limits::apply(&mut conn, limits).await?;
    let result = work(&mut conn).await;
    // A failed run may leave the connection unusable; closing it releases the lock too.
    if result.is_err() {
        conn.close_on_drop();
    } else {
        limits::reset(&mut conn).await?;
        sqlx::query("select pg_advisory_unlock($1)")
            .bind(MIGRATE_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    result
}

/// Applies the local Supabase bootstrap. Refuses to run on a real Supabase database.
pub async fn apply_local_bootstrap(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(LOCAL_BOOTSTRAP_SQL)
        .execute(pool)
        .await
        .context("applying supabase/local/bootstrap.sql")?;
    Ok(())
}

/// Loads (or refreshes) the catalog from `supabase/seed.sql`.
pub async fn seed_catalog(pool: &PgPool) -> anyhow::Result<u64> {
    sqlx::raw_sql(SEED_SQL)
        .execute(pool)
        .await
        .context("loading supabase/seed.sql")?;
    let count: i64 = sqlx::query_scalar("select count(*) from public.machines")
        .fetch_one(pool)
        .await?;
    Ok(count as u64)
}
