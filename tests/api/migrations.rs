use machinemate_api::db::migrate;
use sqlx::PgPool;

use crate::helpers::{database_url, empty_database, fresh_database};

async fn applied(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from supabase_migrations.sqlx_migrations where success")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_twice_is_a_no_op() {
    let pool = PgPool::connect(&database_url(&empty_database().await))
        .await
        .unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    migrate::run_migrations(&pool).await.unwrap();
    let first = applied(&pool).await;
    assert_eq!(first as usize, migrate::migrator().iter().count());
    migrate::run_migrations(&pool).await.unwrap();
    assert_eq!(applied(&pool).await, first);

    // The migrations table is not in `public`, which Supabase's Data API exposes.
    let exposed: i64 = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname = 'public' and tablename like '%migrations%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(exposed, 0);
}

#[tokio::test]
async fn every_table_has_row_level_security_and_the_contract_tables_exist() {
    let pool = PgPool::connect(&database_url(&fresh_database().await))
        .await
        .unwrap();
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "select relname::text, relrowsecurity from pg_class \
         where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    for table in [
        "favorites",
        "history",
        "identification_corrections",
        "identification_events",
        "machines",
        "media_assets",
        "users",
    ] {
        assert!(names.contains(&table), "missing table {table}: {names:?}");
    }
    for (name, rls) in &tables {
        assert!(rls, "table {name} has no row level security");
    }

    let buckets: Vec<(String, bool, i64)> =
        sqlx::query_as("select id, public, file_size_limit from storage.buckets order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        buckets,
        vec![
            ("machines".into(), true, 5 * 1024 * 1024),
            ("tutorials".into(), false, 100 * 1024 * 1024),
            ("user-uploads".into(), false, 10 * 1024 * 1024),
        ]
    );
}

#[tokio::test]
async fn signing_up_creates_the_users_profile_row() {
    let pool = PgPool::connect(&database_url(&fresh_database().await))
        .await
        .unwrap();
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into auth.users (id, email, raw_user_meta_data) values ($1, 'a@example.com', '{\"full_name\": \"Ada\"}')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    let (email, name): (Option<String>, Option<String>) =
        sqlx::query_as("select email, display_name from public.users where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(email.as_deref(), Some("a@example.com"));
    assert_eq!(name.as_deref(), Some("Ada"));

    // Deleting the auth user removes everything of theirs.
    sqlx::query("delete from auth.users where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from public.users where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn seeding_again_changes_nothing() {
    let pool = PgPool::connect(&database_url(&fresh_database().await))
        .await
        .unwrap();
    let before: (i64, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select count(*), max(updated_at) from machines")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(before.0 >= 40, "{} machines", before.0);
    migrate::seed_catalog(&pool).await.unwrap();
    let after: (i64, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select count(*), max(updated_at) from machines")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_migrate_and_seed_commands_prepare_a_supabase_shaped_database() {
    let name = empty_database().await;
    let url = database_url(&name);
    let pool = PgPool::connect(&url).await.unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();

    for command in ["migrate", "seed"] {
        let output = crate::binary::command()
            .arg(command)
            .env("DATABASE_URL", &url)
            .env("LOG_FORMAT", "json")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let machines: i64 = sqlx::query_scalar("select count(*) from machines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(machines >= 40);
}

#[tokio::test]
async fn a_missing_database_url_stops_start_up_with_one_clear_line() {
    let output = crate::binary::command().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL is required"), "{stderr}");
}

#[tokio::test]
async fn preparing_a_prepared_database_again_logs_no_notices() {
    let url = database_url(&empty_database().await);
    let run = || {
        crate::binary::command()
            .arg("local-setup")
            .env("DATABASE_URL", &url)
            .env("LOG_FORMAT", "json")
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    // What scripts/dev does on every start, and the migration job on every deploy.
    let again = run();
    assert!(again.status.success());
    let logged = String::from_utf8_lossy(&again.stdout);
    let lines: Vec<&str> = logged.lines().collect();
    assert!(
        lines
            .iter()
            .all(|line| !line.contains("skipping") && !line.contains("sqlx::postgres::notice")),
        "{logged}"
    );
    assert_eq!(lines.len(), 1, "{logged}");
}
