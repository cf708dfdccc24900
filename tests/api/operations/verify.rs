//! `machinemate-api verify`: read only, it passes on a database this build serves and
//! names what is wrong with one it could not (a restore that missed a migration, a table
//! left without Row Level Security).

use std::time::Duration;

use sqlx::PgPool;

use super::run_within;
use crate::helpers::{database_url, fresh_database};

fn verify(database: &str) -> (bool, String) {
    let url = database_url(database);
    let output = run_within(
        &["verify"],
        &[("DATABASE_URL", url.as_str()), ("LOG_FORMAT", "json")],
        Duration::from_secs(30),
    )
    .expect("verify finishes");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verify_passes_on_a_migrated_seeded_database_and_counts_its_rows() {
    let database = fresh_database().await;
    let (ok, report) = verify(&database);
    assert!(ok, "{report}");
    assert!(!report.contains("FAIL"), "{report}");
    assert!(report.contains("rows  machines 49"), "{report}");
    assert!(report.contains("rows  users 0"), "{report}");
}

#[tokio::test]
async fn verify_fails_naming_a_missing_migration_and_a_table_without_row_level_security() {
    let database = fresh_database().await;
    let pool = PgPool::connect(&database_url(&database)).await.unwrap();
    let last: i64 = sqlx::query_scalar(
        "delete from supabase_migrations.sqlx_migrations \
         where version = (select max(version) from supabase_migrations.sqlx_migrations) returning version",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::raw_sql("alter table public.favorites disable row level security")
        .execute(&pool)
        .await
        .unwrap();
    let (ok, report) = verify(&database);
    assert!(!ok, "{report}");
    assert!(report.contains("FAIL  migrations:"), "{report}");
    assert!(report.contains(&format!("pending: {last}")), "{report}");
    assert!(report.contains("missing on favorites"), "{report}");
}
