//! `/metrics`: counted requests, for the scrape token or an admin only.

use serde_json::json;

use super::promtool_check;
use crate::helpers::{TestApp, assert_error, metric_value};

const METRICS_TOKEN: &str = "scrape-me-7f3a9c";

#[tokio::test]
async fn metrics_count_requests_for_the_token_or_an_admin_only() {
    let app = TestApp::builder()
        .auth()
        .env(("METRICS_TOKEN", METRICS_TOKEN))
        .spawn()
        .await;
    let scrape = |token: &'static str| {
        let request = app.client.get(app.url("/metrics"));
        async move {
            let request = if token.is_empty() {
                request
            } else {
                request.bearer_auth(token)
            };
            request.send().await.unwrap()
        }
    };
    assert_error(scrape("").await, 401, "unauthorized").await;
    assert_error(scrape("wrong-token").await, 401, "unauthorized").await;

    let series = r#"machinemate_http_requests_total{method="GET",route="/api/v1/machines/{machine_id}",status="200"}"#;
    let seen = metric_value(&scrape(METRICS_TOKEN).await.text().await.unwrap(), series);
    assert_eq!(app.get("/api/v1/machines/leg_press").await.status(), 200);

    let response = scrape(METRICS_TOKEN).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    promtool_check(&text);
    assert_eq!(metric_value(&text, series), seen + 1.0, "{text}");
    for family in [
        "machinemate_http_request_duration_seconds_bucket{",
        "machinemate_http_requests_in_flight ",
        "machinemate_db_pool_connections{state=\"idle\"}",
        "machinemate_db_pool_max_connections ",
        "machinemate_db_pool_wait_seconds_count ",
        "machinemate_upstream_calls_total{outcome=\"ok\",upstream=\"postgres\"}",
        "machinemate_upstream_call_duration_seconds_count{upstream=\"postgres\"}",
        "machinemate_cache_lookups_total{cache=\"catalog\"",
        "machinemate_build_info{",
        "machinemate_process_resident_memory_bytes ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(family)),
            "{family} missing from /metrics"
        );
    }

    // A signed-in user is not an operator; an admin is.
    let user = app.sign_up().await;
    let member = app.token_for(user);
    let admin = app.token_with(user, json!({"app_metadata": {"role": "admin"}}));
    assert_error(app.get_as("/metrics", &member).await, 403, "forbidden").await;
    assert_eq!(app.get_as("/metrics", &admin).await.status(), 200);
}

#[tokio::test]
async fn invented_http_methods_share_one_label_and_add_no_series() {
    let app = TestApp::builder()
        .env(("METRICS_TOKEN", METRICS_TOKEN))
        .spawn()
        .await;
    let scrape = async || app.scrape_metrics(METRICS_TOKEN).await;
    let other =
        r#"machinemate_http_requests_total{method="other",route="/api/v1/machines",status="405"}"#;
    let before = metric_value(&scrape().await, other);
    // Anonymous requests with methods nobody defined, each one new (the review sent
    // 10,000 and /metrics grew from 179 KB to 39 MB).
    let invented: Vec<String> = (0..200)
        .map(|i| format!("X{}{i}", uuid::Uuid::new_v4().simple()))
        .collect();
    for method in &invented {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/api/v1/machines"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }
    let text = scrape().await;
    promtool_check(&text);
    for method in &invented {
        assert!(!text.contains(method.as_str()), "{method} became a label");
    }
    assert_eq!(metric_value(&text, other), before + 200.0);
    // Every label value the service writes is one of a small, fixed set.
    for line in text.lines().filter(|l| l.contains("method=\"")) {
        let value = line
            .split("method=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            [
                "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
                "other"
            ]
            .contains(&value),
            "{line}"
        );
    }
}
