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

#[tokio::test]
async fn a_catalog_row_the_new_schema_cannot_hold_is_named_by_check_and_stops_migrate() {
    let (name, pool) = super::Fixture::Live.database().await;
    sqlx::raw_sql(
        "insert into public.machines (id, name, category) values ('Leg-Press-2', 'Leg Press 2', 'Lower Body');
         insert into public.machines (id, name, category, difficulty) values ('hip_sled', 'Hip Sled', 'Legs', 'expert');",
    )
    .execute(&pool)
    .await
    .unwrap();
    let before = fingerprint(&pool).await;
    for command in ["migrate --check", "migrate"] {
        let output = run(command, &name);
        assert!(!output.status.success(), "{command} must refuse");
        let errors = error_lines(&output);
        assert_eq!(errors.len(), 1, "{command}: one line: {errors:?}");
        for named in [
            r#"public.machines \"Leg-Press-2\": the id is not 2 to 63 lowercase letters"#,
            r#"public.machines \"hip_sled\": the category 'Legs' is not one of the app's nine"#,
            "nothing was changed",
        ] {
            assert!(
                errors[0].contains(named),
                "{command}: {named}: {}",
                errors[0]
            );
        }
        assert!(!errors[0].contains("violates"), "no raw constraint error");
        assert_eq!(
            fingerprint(&pool).await,
            before,
            "{command}: nothing changed"
        );
    }
}

#[tokio::test]
async fn check_gives_up_on_a_lock_the_live_backend_holds_instead_of_queueing_behind_it() {
    let (name, pool) = super::Fixture::Live.database().await;
    let before = fingerprint(&pool).await;
    // A request of the FastAPI backend, mid-transaction on the favorites.
    let mut backend = pool.begin().await.unwrap();
    sqlx::query("select count(*) from public.favorites")
        .execute(&mut *backend)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let output = run("migrate --check", &name);
    assert!(!output.status.success());
    let errors = error_lines(&output);
    assert!(
        errors[0]
            .contains("held a lock the cutover needs for longer than the migration's lock_timeout")
            && errors[0].contains("nothing was changed"),
        "{errors:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    backend.rollback().await.unwrap();
    assert_eq!(fingerprint(&pool).await, before);
}
