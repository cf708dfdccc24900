use std::time::{Duration, Instant};

use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn health_reports_status_and_configuration() {
    let app = TestApp::builder().spawn().await;
    let body = app.get_json("/health", 200).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["connected"], true);
    assert_eq!(body["environment"], "development");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["vlm_configured"], false);
    assert_eq!(
        body["mocking_enabled"], true,
        "no Fireworks key: identification is mocked"
    );
    for feature in ["auth", "favorites", "history", "media_upload"] {
        assert!(body["features"][feature].is_boolean(), "{feature}");
    }
}

#[tokio::test]
async fn liveness_and_readiness_answer_as_the_contract_says() {
    let app = TestApp::builder().spawn().await;
    assert_eq!(
        app.get_json("/health/live", 200).await,
        serde_json::json!({"alive": true})
    );
    assert_eq!(
        app.get_json("/health/ready", 200).await,
        serde_json::json!({"ready": true})
    );
}

/// An app whose database connections pass through a switchable proxy.
async fn app_behind_proxy() -> TestApp {
    TestApp::builder().behind_db_proxy().spawn().await
}

#[tokio::test]
async fn readiness_fails_fast_while_the_database_is_down_and_recovers_without_restart() {
    let app = app_behind_proxy().await;
    let proxy = app.db_proxy();
    assert_eq!(app.get("/health/ready").await.status(), 200);

    proxy.refuse();
    let started = Instant::now();
    let response = app.get("/health/ready").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    let answer = assert_error(response, 503, "database_unavailable").await;
    assert_eq!(answer.body["ready"], false);
    assert_eq!(answer.detail, "Database unreachable");

    let health = app.get_json("/health", 200).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["database"]["connected"], false);

    proxy.forward();
    // The pool reconnects on its own; allow it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if app.get("/health/ready").await.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "readiness did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readiness_is_bounded_when_the_database_hangs() {
    let app = app_behind_proxy().await;
    let proxy = app.db_proxy();
    proxy.hang();
    let started = Instant::now();
    let response = app.get("/health/ready").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(
        elapsed >= Duration::from_millis(900),
        "answered before the bound: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn catalog_reads_answer_503_not_500_while_the_database_is_down() {
    let app = app_behind_proxy().await;
    let proxy = app.db_proxy();
    proxy.refuse();
    let response = app.get("/api/v1/machines").await;
    let detail = assert_error(response, 503, "database_unavailable")
        .await
        .detail;
    assert_eq!(detail, "Database unavailable");
}
