use crate::helpers::{TestApp, assert_error};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn unknown_routes_answer_404_in_the_json_envelope() {
    let app = TestApp::builder().spawn().await;
    let detail = assert_error(app.get("/no/such/route").await, 404, "not_found")
        .await
        .detail;
    assert_eq!(detail, "Not Found");
    let detail = assert_error(app.get("/api/v1/nothing-here").await, 404, "not_found")
        .await
        .detail;
    assert_eq!(detail, "Not Found");
}

#[tokio::test]
async fn wrong_methods_answer_405_in_the_json_envelope() {
    let app = TestApp::builder().spawn().await;
    for path in ["/health", "/api/v1/machines", "/api/v1/machines/leg_press"] {
        let response = app.client.put(app.url(path)).send().await.unwrap();
        let detail = assert_error(response, 405, "method_not_allowed")
            .await
            .detail;
        assert_eq!(detail, "Method Not Allowed");
    }
}

#[tokio::test]
async fn every_response_carries_the_trace_id_from_cloud_run() {
    let app = TestApp::builder().spawn().await;
    let response = app
        .client
        .get(app.url("/health/live"))
        .header("X-Cloud-Trace-Context", format!("{TRACE}/123;o=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-trace-id"], TRACE);
    assert!(response.headers().contains_key("x-request-id"));

    let response = app
        .client
        .get(app.url("/no/such/route"))
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-trace-id"], TRACE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["trace_id"], TRACE);
}

#[tokio::test]
async fn a_generated_trace_id_is_sent_when_none_arrives() {
    let app = TestApp::builder().spawn().await;
    let response = app.get("/health/live").await;
    let id = response.headers()["x-trace-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn bad_query_strings_answer_422_with_fastapi_issues() {
    let app = TestApp::builder().spawn().await;
    let response = app
        .get("/api/v1/machines?page=%zz&page_size=abc&is_active=perhaps")
        .await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    let issues = detail.as_array().unwrap();
    assert_eq!(issues.len(), 3, "{detail}");
    assert_eq!(issues[0]["loc"], serde_json::json!(["query", "page"]));
    assert_eq!(issues[0]["type"], "int_parsing");
    assert_eq!(issues[1]["loc"], serde_json::json!(["query", "page_size"]));
    assert_eq!(issues[2]["type"], "bool_parsing");
    assert!(issues.iter().all(|i| i["msg"].is_string()));
}

#[tokio::test]
async fn cors_allows_the_configured_app_origins_only() {
    let app = TestApp::builder()
        .env(("CORS_ORIGINS", "http://localhost:8081"))
        .spawn()
        .await;
    let allowed = app
        .client
        .get(app.url("/api/v1/machines"))
        .header("Origin", "http://localhost:8081")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:8081"
    );
    let other = app
        .client
        .get(app.url("/api/v1/machines"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn head_answers_every_get_route_as_get_would_without_the_body() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    for path in [
        "/health/live",
        "/api/v1/machines?page_size=5",
        "/api/v1/machines/leg_press",
        "/api/v1/favorites",
        "/openapi.json",
        "/docs/",
    ] {
        let get = app.get_as(path, &token).await;
        assert_eq!(get.status(), 200, "GET {path}");
        let content_type = get.headers()["content-type"].clone();
        let length = get.bytes().await.unwrap().len();
        let head = app
            .request(reqwest::Method::HEAD, path, &token)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["content-type"], content_type, "{path}");
        if let Some(declared) = head.headers().get("content-length") {
            assert_eq!(declared.to_str().unwrap(), length.to_string(), "{path}");
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    // A route with no GET still has no HEAD.
    let response = app
        .request(reqwest::Method::HEAD, "/api/v1/history/batch", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}
