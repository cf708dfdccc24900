//! Each HTTP worker queries on connections of its own, opened on its own runtime, out of
//! the same `DATABASE_MAX_CONNECTIONS` as the shared pool (`src/db/worker_pools.rs`): a
//! burst of reads and writes never has more connections open than configured, the
//! requests do use the workers' own, and `/metrics` counts both.

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
    // A quarter of the total shared (one per worker) and three of each worker's own.
    let max = 4 * workers;
    let shared = workers;
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

/// The mechanism itself, on one thread standing in for a worker: its checkouts take
/// connections of the worker's own and leave the shared pool alone; with its own busy, it
/// takes a shared one while the shared pool has one to give, and then waits for one of
/// its own. A thread that is not a worker uses the shared pool.
#[tokio::test]
async fn a_workers_checkout_is_served_by_its_own_connection() {
    let workers = machinemate_api::db::server_workers();
    let app = TestApp::builder().spawn().await;
    // Three of each worker's own, one per worker shared.
    let max = (4 * workers).to_string();
    let db = app.serving_db_with(&[("DATABASE_MAX_CONNECTIONS", &max)]);
    let shared_max = db.pool().options().get_max_connections() as usize;
    assert_eq!(shared_max, workers);

    // Not a worker: the shared pool.
    drop(db.acquire().await.unwrap());
    assert_eq!(db.pool().size(), 1);
    assert_eq!(db.pool_gauges().size, 1);

    db.serve_from_this_thread();
    let mut own = Vec::new();
    for _ in 0..3 {
        own.push(db.acquire().await.unwrap());
    }
    assert_eq!(db.pool().size(), 1, "the shared pool opened none");
    assert_eq!(
        db.pool_gauges().size,
        4,
        "the worker opened three of its own"
    );
    // Its three are busy: the next checkouts take the shared pool's, the idle one first.
    let mut shared = Vec::new();
    for _ in 0..shared_max {
        shared.push(db.begin().await.unwrap());
    }
    assert_eq!(db.pool().size() as usize, shared_max);
    assert_eq!(db.pool().num_idle(), 0);
    assert_eq!(db.pool_gauges().size as usize, 3 + shared_max);

    // Everything busy: the next one waits for one of the worker's own, not a shared one.
    let waiting = {
        let db = db.clone();
        tokio::spawn(async move { db.acquire().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "a checkout found a connection none gave back"
    );
    drop(own.pop());
    let conn = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("the worker's own connection came back, the waiting checkout took it")
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(db.pool().num_idle(), 0, "the shared ones are still held");
    drop((own, shared));
}
