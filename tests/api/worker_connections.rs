//! Each HTTP worker reads the caller's rows on connections of its own, opened on its own
//! runtime, out of the same `DATABASE_MAX_CONNECTIONS` as the shared pool
//! (`src/db/worker_pools.rs`): a burst of reads and writes never has more connections
//! open than configured, the reads do use the workers' own, and `/metrics` counts both.

use std::sync::Arc;

use crate::helpers::{TestApp, metric_value, watching_most};

const METRICS_TOKEN: &str = "scrape-me-worker-pools";

/// The service's connections to the test's database open right now.
async fn service_connections(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() \
         and application_name = 'machinemate-api'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn reads_use_the_workers_own_connections_and_the_total_stays_as_configured() {
    let workers = machinemate_api::db::server_workers() as i64;
    // Two connections of each worker's own (a quarter of the total each, rounded down,
    // none under two) and half the total shared.
    let max = 4 * workers;
    let shared = max - 2 * workers;
    let app = Arc::new(
        TestApp::builder()
            .auth()
            .env(("DATABASE_MAX_CONNECTIONS", &max.to_string()))
            .env(("METRICS_TOKEN", METRICS_TOKEN))
            .spawn()
            .await,
    );
    // Each user with their sync cursor (from a full sync, as the app starts).
    let mut users = Vec::new();
    for _ in 0..16 {
        let token = app.sign_in().await;
        let sync: serde_json::Value = app
            .get_as("/api/v1/sync", &token)
            .await
            .json()
            .await
            .unwrap();
        let cursor = sync["cursor"].as_str().unwrap().to_owned();
        users.push((token, cursor));
    }

    // Reads of three kinds from every user, and a write from each, all at once.
    let reads = futures_util::future::join_all((0..192).map(|n| {
        let app = app.clone();
        let (token, cursor) = users[n % users.len()].clone();
        let path = match n % 3 {
            0 => "/api/v1/favorites".to_owned(),
            1 => "/api/v1/history".to_owned(),
            _ => format!("/api/v1/sync?since={cursor}"),
        };
        async move { app.get_as(&path, &token).await.status() }
    }));
    let writes = futures_util::future::join_all(
        users
            .iter()
            .map(|(token, _)| app.add_favorite(token, "leg_press")),
    );
    let ((reads, writes), most) = watching_most(
        &app,
        async |app: Arc<TestApp>| service_connections(&app).await,
        async { tokio::join!(reads, writes) },
    )
    .await;

    assert!(reads.iter().all(|s| *s == 200), "{reads:?}");
    assert!(writes.iter().all(|w| w.status() == 201));
    let open = service_connections(&app).await;
    eprintln!("worker connections: at most {most} open at once, {open} after, of {max}");
    assert!(
        most <= max,
        "{most} connections open at once, {max} configured"
    );
    // The shared pool may open at most `shared`: more than that are the workers' own.
    // (Behind `scripts/test-pooler`'s PgBouncer, Postgres sees the pooler's four server
    // connections, not the service's: there only the gauges below can tell.)
    if std::env::var_os("TEST_VIA_PGBOUNCER").is_none() {
        assert!(
            open > shared,
            "{open} open: the reads never used the workers' own connections"
        );
    }

    // The gauges count the workers' connections with the shared ones.
    let metrics = app.scrape_metrics(METRICS_TOKEN).await;
    let gauge = |series: &str| metric_value(&metrics, series) as i64;
    assert_eq!(gauge("machinemate_db_pool_max_connections"), max);
    let in_use = gauge(r#"machinemate_db_pool_connections{state="in_use"}"#);
    let idle = gauge(r#"machinemate_db_pool_connections{state="idle"}"#);
    assert!(
        in_use + idle > shared,
        "the gauges count {} connections: the reads never used the workers' own",
        in_use + idle
    );
}

/// The mechanism itself, on one thread standing in for a worker: its read takes a
/// connection of the worker's own and leaves the shared pool alone; a thread that is
/// not a worker reads on the shared pool.
#[tokio::test]
async fn a_workers_read_is_served_by_its_own_connection() {
    let workers = machinemate_api::db::server_workers();
    let app = TestApp::builder().spawn().await;
    let max = (4 * workers).to_string();
    let db = app.serving_db_with(&[("DATABASE_MAX_CONNECTIONS", &max)]);

    // Not a worker: the shared pool.
    drop(db.acquire_read().await.unwrap());
    assert_eq!(db.pool().size(), 1);
    assert_eq!(db.pool_gauges().size, 1);

    db.serve_from_this_thread();
    let first = db.acquire_read().await.unwrap();
    let second = db.acquire_read().await.unwrap();
    assert_eq!(db.pool().size(), 1, "the shared pool opened none");
    assert_eq!(db.pool_gauges().size, 3, "the worker opened two of its own");
    // Its two are busy: the next read is served from the shared pool.
    let third = db.acquire_read().await.unwrap();
    assert_eq!(db.pool_gauges().size, 3, "{:?}", db.pool_gauges());
    assert_eq!(db.pool().num_idle(), 0);
    drop((first, second, third));
}
