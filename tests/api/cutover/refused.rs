//! A database in neither shape: `migrate` stops before changing anything, with one line
//! naming what it found.

use machinemate_api::db::migrate;
use sqlx::PgPool;

use super::{error_lines, fingerprint, run};
use crate::helpers::{database_url, empty_database};

async fn refused(setup: &str, expected: &str) {
    let name = empty_database().await;
    let pool = PgPool::connect(&database_url(&name)).await.unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup.to_owned()))
        .execute(&pool)
        .await
        .unwrap();
    let before = fingerprint(&pool).await;
    let output = run("migrate", &name);
    assert!(!output.status.success(), "{setup}: migrate must refuse");
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "one line: {errors:?}");
    assert!(errors[0].contains(expected), "{}", errors[0]);
    assert!(errors[0].contains("nothing was changed"), "{}", errors[0]);
    assert_eq!(fingerprint(&pool).await, before, "{setup}: nothing changed");
}

#[tokio::test]
async fn a_users_table_without_email_is_refused_before_anything_changes() {
    refused(
        "create table public.users (id uuid primary key, name text, metadata jsonb);
         create table public.machines (id text primary key);
         create table public.favorites (user_id uuid, machine_id text);
         create table public.history (id uuid primary key);
         insert into public.users values (gen_random_uuid(), 'kept', '{}');",
        "public.users has no column email",
    )
    .await;
}

#[tokio::test]
async fn other_partial_or_foreign_shapes_are_refused_too() {
    refused(
        "create table public.machines (id text primary key, name text);",
        "public holds machines but no users",
    )
    .await;
    refused(
        &format!(
            "{}\nalter table public.history alter column confidence type text;",
            super::FIXTURE
        ),
        "public.history.confidence is text",
    )
    .await;
    refused(
        &format!(
            "{}\ncreate table public.sync_tombstones (id int);",
            super::FIXTURE
        ),
        "public.sync_tombstones exists beside the FastAPI backend's tables",
    )
    .await;
}
