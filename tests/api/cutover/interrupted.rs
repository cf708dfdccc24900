//! A cutover whose connection is killed part-way: the FastAPI backend's database is left
//! exactly as it was (and keeps working), and the next `migrate` completes.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use super::{ALICE, fastapi_database, fingerprint, run_ok};
use crate::helpers::database_url;

#[tokio::test]
async fn a_cutover_killed_half_way_leaves_the_old_database_usable_and_the_next_migrate_completes() {
    let (name, pool) = fastapi_database().await;
    let before = fingerprint(&pool).await;

    // Something else holds a row the first migration writes (a storage bucket): the
    // cutover moves the old tables and is part-way through the migrations when it waits.
    let mut blocker = PgConnection::connect(&database_url(&name)).await.unwrap();
    sqlx::query("begin").execute(&mut blocker).await.unwrap();
    sqlx::query("select * from storage.buckets where id = 'user-uploads' for update")
        .execute(&mut blocker)
        .await
        .unwrap();
    let migrate = crate::binary::command()
        .arg("migrate")
        .env("DATABASE_URL", database_url(&name))
        .env("LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let waiting: Option<(i32, bool)> = sqlx::query_as(
            "select a.pid, exists (select 1 from pg_locks l where l.pid = a.pid and l.granted \
                                   and l.relation = 'public.users'::regclass::oid) \
             from pg_stat_activity a \
             where a.datname = current_database() and a.wait_event_type = 'Lock' \
               and a.pid <> pg_backend_pid()",
        )
        .fetch_optional(&pool)
        .await
        .unwrap_or(None);
        if let Some(w) = waiting {
            break w;
        }
        assert!(
            Instant::now() < deadline,
            "migrate never reached the held row"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The migrate's transaction had already moved the old tables when it was stopped (it
    // holds their locks; outside it they are still `public`'s, as it has not committed).
    assert!(waiting.1, "killed part-way, after the old tables moved");
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(waiting.0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(killed);
    let output = migrate.wait_with_output().unwrap();
    assert!(
        !output.status.success(),
        "the killed migrate reports failure"
    );
    sqlx::query("rollback").execute(&mut blocker).await.unwrap();

    assert_eq!(
        fingerprint(&pool).await,
        before,
        "exactly as the FastAPI backend left it"
    );
    // ... and it keeps working for the FastAPI backend, which writes in its own shape.
    sqlx::query(
        "insert into public.history (user_id, machine_id, confidence, source, meta) \
         values ($1, 'treadmill', 0.81, 'backend_api', '{}')",
    )
    .bind(ALICE.parse::<uuid::Uuid>().unwrap())
    .execute(&pool)
    .await
    .unwrap();

    run_ok("migrate", &name);
    let copied: (i64, i64) = sqlx::query_as(
        "select (select count(*) from public.history), (select count(*) from fastapi_legacy.history)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        copied,
        (10, 10),
        "every row, the one written in between included"
    );
}
