//! Roles: admin routes for the admin or service role only, and user routes unavailable
//! without an Auth configuration.

use serde_json::{Value, json};

use crate::helpers::{ME, TestApp, assert_error};

#[tokio::test]
async fn admin_routes_need_the_admin_or_service_role() {
    let app = TestApp::builder().auth().spawn().await;
    let user = app.sign_up().await;
    let stats = "/api/v1/metrics/stats";

    assert_eq!(app.get(stats).await.status(), 401);
    let plain = app.token_for(user);
    let response = app.get_as(stats, &plain).await;
    let detail = assert_error(response, 403, "forbidden").await.detail;
    assert_eq!(detail, "Admin role required");

    // user_metadata is writable by the user, so it grants nothing.
    let sneaky = app.token_with(user, json!({"user_metadata": {"role": "admin"}}));
    assert_eq!(app.get_as(stats, &sneaky).await.status(), 403);

    for changes in [
        json!({"app_metadata": {"provider": "email", "role": "admin"}}),
        json!({"app_metadata": {"roles": ["admin"]}}),
        json!({"role": "service_role"}),
    ] {
        let token = app.token_with(user, changes.clone());
        let response = app.get_as(stats, &token).await;
        assert_eq!(response.status(), 200, "{changes}");
        let body: Value = response.json().await.unwrap();
        assert!(body["totals"]["machines"].as_i64().unwrap() >= 40);
        assert!(body["totals"]["users"].as_i64().unwrap() >= 1);
        assert!(body["recent_activity"]["identifications_last_7_days"].is_i64());
    }

    let categories = app.get_json("/api/v1/metrics/categories", 200).await;
    assert_eq!(
        categories["total_categories"].as_u64().unwrap() as usize,
        categories["categories"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn without_auth_configuration_user_routes_answer_503() {
    let app = TestApp::builder().spawn().await;
    let response = app.get_as(ME, "a.b.c").await;
    let detail = assert_error(response, 503, "service_unavailable")
        .await
        .detail;
    assert_eq!(detail, "Authentication is not configured");
}
