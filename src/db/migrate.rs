//! Schema migrations (`supabase/migrations/`, embedded at build time), the local
//! Supabase bootstrap, and the catalog seed.

use anyhow::Context;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

/// The local stand-in for what Supabase provides (roles, `auth`, `storage`).
pub const LOCAL_BOOTSTRAP_SQL: &str = include_str!("../../supabase/local/bootstrap.sql");
/// The catalog (Supabase CLI seed file); idempotent.
pub const SEED_SQL: &str = include_str!("../../supabase/seed.sql");

/// Where sqlx records applied migrations. Kept out of `public`, which Supabase exposes
/// through its Data API, next to the Supabase CLI's own `schema_migrations`.
const MIGRATIONS_SCHEMA: &str = "supabase_migrations";
const MIGRATIONS_TABLE: &str = "supabase_migrations.sqlx_migrations";

pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./supabase/migrations");
    migrator.create_schema(MIGRATIONS_SCHEMA);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// Applies pending migrations; a no-op when all are applied. Needs a session-mode
/// connection (it takes an advisory lock), not a transaction-mode pooler.
pub async fn run_migrations(pool: &PgPool) -> anyhow::Result<()> {
    migrator()
        .run(pool)
        .await
        .context("applying supabase/migrations")
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
