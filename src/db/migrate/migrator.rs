//! The embedded migrations, and where sqlx records them.

use sqlx::migrate::Migrator;

/// Where sqlx records applied migrations. Kept out of `public`, which Supabase exposes
/// through its Data API, next to the Supabase CLI's own `schema_migrations`.
const MIGRATIONS_SCHEMA: &str = "supabase_migrations";
const MIGRATIONS_TABLE: &str = "supabase_migrations.sqlx_migrations";

/// `supabase/migrations/`, embedded at build time.
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./supabase/migrations");
    migrator.create_schema(MIGRATIONS_SCHEMA);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}
