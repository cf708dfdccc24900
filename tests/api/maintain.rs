//! `machinemate-api maintain`, the housekeeping a Cloud Run job runs every hour: it
//! removes what nothing needs any more and only that, a second run changes nothing,
//! runs are bounded, several at once do the work once, and the cutover's archive goes
//! only when asked and after its grace period.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::helpers::TestApp;

/// Rows each task should find: `n` past their time for one user, and as many current.
async fn past_and_present(app: &TestApp, user: Uuid, n: i64) {
    for sql in [
        "insert into idempotency_keys (user_id, key, method, path, request_hash, status_code, created_at) \
         select $1, 'old' || g, 'POST', '/p', 'h', 201, now() - interval '25 hours' from generate_series(1, $2) g \
         union all select $1, 'new' || g, 'POST', '/p', 'h', 201, now() - interval '23 hours' from generate_series(1, $2) g",
        "insert into identification_events (trace_id, user_id, machine_name, confidence, created_at) \
         select 'old' || g, $1, 'Leg Press', 0.9, now() - interval '181 days' from generate_series(1, $2) g \
         union all select 'new' || g, $1, 'Leg Press', 0.9, now() - interval '179 days' from generate_series(1, $2) g",
        "insert into identification_quota (user_id, day, used) \
         select $1, (now() at time zone 'utc')::date - g::int, 3 from generate_series(0, $2) g",
        "insert into identification_ip_quota (ip_hash, day, used) \
         select 'ip' || g, (now() at time zone 'utc')::date - (g % 2)::int, 1 from generate_series(1, 2 * $2) g",
        "insert into sync_tombstones (user_id, entity, entity_id, sync_version, deleted_at) \
         select $1, 'history', 'old' || g, g, now() - interval '31 days' from generate_series(1, $2) g \
         union all select $1, 'history', 'new' || g, $2 + g, now() - interval '29 days' from generate_series(1, $2) g",
        "insert into deleted_accounts (user_id, deleted_at) \
         select gen_random_uuid(), now() - interval '31 days' from generate_series(1, $2) g \
         union all select gen_random_uuid(), now() - interval '1 day' from generate_series(1, $2) g",
    ] {
        sqlx::query(sql)
            .bind(user)
            .bind(n)
            .execute(&app.db)
            .await
            .unwrap();
    }
    sqlx::query(
        "insert into rate_limits (user_id, bucket, window_start, used) values \
         ($1, 'export', now() - interval '2 hours', 5), ($1, 'history_write', now(), 3)",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn housekeeping_removes_what_nothing_needs_and_a_second_run_changes_nothing() {
    let app = TestApp::builder().auth().storage().spawn().await;
    let (user, _) = app.sign_up_and_in().await;
    past_and_present(&app, user, 7).await;

    let first = app.maintain(&[]).await;
    let expected: BTreeMap<String, u64> = [
        ("idempotency_keys", 7),
        ("sync_tombstones", 7),
        ("identification_quota", 7),
        ("identification_ip_quota", 7),
        ("rate_limits", 1),
        ("identification_events", 7),
        ("identification_corrections", 0),
        ("deleted_accounts", 7),
        ("pending_uploads", 0),
        ("unclaimed_uploads", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(first, expected);
    // What is still current is all there.
    for (table, left) in [
        ("idempotency_keys", 7),
        ("identification_events", 7),
        ("identification_quota", 1),
        ("identification_ip_quota", 7),
        ("sync_tombstones", 7),
        ("deleted_accounts", 7),
        ("rate_limits", 1),
    ] {
        assert_eq!(count(&app, table).await, left, "{table}");
    }
    let floor: i64 =
        sqlx::query_scalar("select purged_through from sync_floors where user_id = $1")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(floor, 7, "the highest version purged");

    let second = app.maintain(&[]).await;
    assert!(second.values().all(|n| *n == 0), "{second:?}");
}

#[tokio::test]
async fn a_run_is_bounded_and_the_next_one_goes_on() {
    let app = TestApp::builder().auth().spawn().await;
    let (user, _) = app.sign_up_and_in().await;
    sqlx::query(
        "insert into idempotency_keys (user_id, key, method, path, request_hash, status_code, created_at) \
         select $1, 'k' || g, 'POST', '/p', 'h', 201, now() - interval '2 days' from generate_series(1, 25000) g",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(app.maintain(&[]).await["idempotency_keys"], 20_000);
    assert_eq!(app.maintain(&[]).await["idempotency_keys"], 5_000);
    assert_eq!(count(&app, "idempotency_keys").await, 0);
}

#[tokio::test]
async fn several_runs_at_once_do_the_work_once() {
    let app = std::sync::Arc::new(TestApp::builder().auth().spawn().await);
    let (user, _) = app.sign_up_and_in().await;
    past_and_present(&app, user, 3000).await;
    let runs = futures_util::future::join_all((0..3).map(|_| app.maintain_output(&[]))).await;
    let mut removed = 0;
    for output in runs {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        removed += String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["message"] == "maintain: task done" && l["task"] == "idempotency_keys")
            .map(|l| l["removed"].as_u64().unwrap())
            .sum::<u64>();
    }
    assert_eq!(removed, 3000, "each expired record removed exactly once");
    assert_eq!(count(&app, "idempotency_keys").await, 3000);
}

#[tokio::test]
async fn the_fastapi_archive_goes_only_when_asked_and_after_its_grace_period() {
    let app = TestApp::builder().auth().spawn().await;
    let archive = async |days_ago: i32| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "create schema if not exists fastapi_legacy; \
             create table if not exists fastapi_legacy.cutover (cutover_at timestamptz not null, note text not null); \
             create table if not exists fastapi_legacy.users (id uuid primary key); \
             delete from fastapi_legacy.cutover; \
             insert into fastapi_legacy.cutover values (now() - interval '{days_ago} days', 'test')"
        )))
        .execute(&app.db)
        .await
        .unwrap();
    };
    let present = async || -> bool {
        sqlx::query_scalar("select to_regnamespace('fastapi_legacy') is not null")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    archive(31).await;
    assert!(
        !app.maintain(&[]).await.contains_key("fastapi_archive"),
        "not asked"
    );
    assert!(present().await);
    archive(29).await;
    assert_eq!(
        app.maintain(&["--drop-fastapi-archive"]).await["fastapi_archive"],
        0
    );
    assert!(present().await, "within the grace period");
    archive(31).await;
    assert_eq!(
        app.maintain(&["--drop-fastapi-archive"]).await["fastapi_archive"],
        1
    );
    assert!(!present().await);
    assert_eq!(
        app.maintain(&["--drop-fastapi-archive"]).await["fastapi_archive"],
        0
    );

    // An archive whose cutover left no date is never guessed at.
    sqlx::raw_sql("create schema fastapi_legacy; create table fastapi_legacy.users (id uuid)")
        .execute(&app.db)
        .await
        .unwrap();
    let refused = app.maintain_output(&["--drop-fastapi-archive"]).await;
    assert!(!refused.status.success());
    assert!(present().await);
}
