//! Every migration runs with a lock timeout and a statement timeout set by `migrate`
//! itself: a migration that would queue behind a long transaction (and queue every query
//! of the serving revision behind itself) gives up instead, changing nothing, and the
//! next run applies it.

use std::time::{Duration, Instant};

use machinemate_api::db::migrate;
use sqlx::{Connection, Executor, PgConnection, PgPool};

use super::run_within;
use crate::helpers::{database_url, empty_database};

/// A database with Supabase's schemas, where another session holds `auth.users` (which
/// the first migration references) in ACCESS EXCLUSIVE mode until it is dropped.
async fn database_with_a_locked_table() -> (String, PgConnection) {
    let name = empty_database().await;
    let pool = PgPool::connect(&database_url(&name)).await.unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    pool.close().await;
    let mut holder = PgConnection::connect(&database_url(&name)).await.unwrap();
    holder
        .execute("begin; lock table auth.users in access exclusive mode")
        .await
        .unwrap();
    (name, holder)
}

/// Runs `migrate` on `database` with `env`, in a thread (the test's runtime keeps
/// holding the lock meanwhile); `None` when it was still waiting after 30 s.
async fn migrate_with(
    database: &str,
    env: &[(&'static str, &'static str)],
) -> Option<(std::process::Output, Duration)> {
    let url = database_url(database);
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut all: Vec<(&str, &str)> =
            vec![("DATABASE_URL", url.as_str()), ("LOG_FORMAT", "json")];
        all.extend(env.iter().copied());
        run_within(&["migrate"], &all, Duration::from_secs(30)).map(|o| (o, started.elapsed()))
    })
    .await
    .unwrap()
}

async fn recorded(database: &str) -> i64 {
    let pool = PgPool::connect(&database_url(database)).await.unwrap();
    sqlx::query_scalar(
        "select case when to_regclass('supabase_migrations.sqlx_migrations') is null then 0 \
         else (select count(*) from supabase_migrations.sqlx_migrations where success) end",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_migration_waiting_for_a_lock_gives_up_at_the_lock_timeout_and_changes_nothing() {
    let (database, holder) = database_with_a_locked_table().await;
    let (output, took) = migrate_with(&database, &[("MIGRATION_LOCK_TIMEOUT_MS", "300")])
        .await
        .expect("migrate gave up rather than wait behind the lock");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("lock timeout"), "{log}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(
        recorded(&database).await,
        0,
        "the migration rolled back whole"
    );

    // Once the long transaction is gone, the same command applies everything.
    holder.close().await.unwrap();
    let (output, _) = migrate_with(&database, &[("MIGRATION_LOCK_TIMEOUT_MS", "300")])
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        recorded(&database).await as usize,
        migrate::migrator().iter().count()
    );
}

#[tokio::test]
async fn a_migration_statement_running_past_the_statement_timeout_is_cancelled() {
    let (database, _holder) = database_with_a_locked_table().await;
    // A lock wait counts towards the statement's time too: with a long lock timeout,
    // the statement timeout is what ends it.
    let (output, took) = migrate_with(
        &database,
        &[
            ("MIGRATION_LOCK_TIMEOUT_MS", "600000"),
            ("MIGRATION_STATEMENT_TIMEOUT_MS", "1000"),
        ],
    )
    .await
    .expect("migrate gave up rather than run on");
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("statement timeout"), "{log}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(recorded(&database).await, 0);
}
