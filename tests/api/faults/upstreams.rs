//! The services the app calls failing: the JWKS endpoint hanging, storage answering
//! errors.
//!
//! Upstream faults. Fireworks failing, hanging or refused (fast 503 once the breaker is
//! open) is in identify/upstream.rs; the JWKS endpoint answering errors with a warm cache,
//! and with no keys at all, in auth/keys.rs; storage refusing connections in
//! media/multipart.rs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use super::BOUND;
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::auth::keys;
use crate::stand_ins::storage::FailingStorage;

#[tokio::test]
async fn a_hanging_jwks_endpoint_with_a_warm_cache_still_lets_people_in_quickly() {
    let app = TestApp::builder()
        .auth()
        .env(("SUPABASE_JWKS_CACHE_SECS", "1"))
        .env(("SUPABASE_JWKS_REFRESH_MIN_SECS", "1"))
        .spawn()
        .await;
    let (user, warm) = app.sign_up_and_in().await;
    let auth = app.auth();
    assert_eq!(app.get_as("/api/v1/favorites", &warm).await.status(), 200);

    // The endpoint now accepts connections and never answers; the cached keys are stale.
    auth.set_hanging(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fetches = auth.fetches();
    for round in 0..4 {
        // Tokens the service has not verified before, several at once.
        let tokens: Vec<String> = (0..3)
            .map(|_| app.token_with(user, json!({"session_id": Uuid::new_v4()})))
            .collect();
        let started = Instant::now();
        let answers = futures_util::future::join_all(
            tokens.iter().map(|t| app.get_as("/api/v1/favorites", t)),
        )
        .await;
        let took = started.elapsed();
        for answer in answers {
            assert_eq!(answer.status(), 200, "round {round}");
        }
        assert!(took < BOUND, "round {round} took {took:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(auth.fetches() > fetches, "refetches were attempted");
    // A key it never had is still refused, not waited on for ever.
    let started = Instant::now();
    let unknown = keys().es256_next.sign(&auth.claims(user));
    let response = app.get_as("/api/v1/favorites", &unknown).await;
    assert!(
        matches!(response.status().as_u16(), 401 | 503),
        "{}",
        response.status()
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn storage_answering_errors_is_a_clear_503_with_nothing_half_done() {
    let storage = FailingStorage::start();
    let app = TestApp::builder()
        .auth()
        .storage_at(&storage.endpoint)
        .spawn()
        .await;
    let token = app.sign_in().await;
    let count = |table: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "select count(*) from {table}"
            )))
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let unavailable = |response: reqwest::Response, started: Instant| async move {
        let took = started.elapsed();
        let detail = assert_error(response, 503, "service_unavailable")
            .await
            .detail;
        assert_eq!(detail, "Storage is unavailable");
        // The SDK's retries with backoff, well inside its 20 s operation bound.
        assert!(took < Duration::from_secs(10), "{took:?}");
    };

    // The multipart upload: nothing recorded.
    let started = Instant::now();
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'];
    let response = app.upload(&token, jpeg, "image/jpeg").await;
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 0);

    // A presigned upload: signing needs no storage call, confirming does; the asset
    // stays pending, so the app can confirm again later.
    let ticket: Value = app
        .upload_ticket(&token, "image/jpeg", 8)
        .await
        .json()
        .await
        .unwrap();
    let asset = ticket["asset_id"].as_str().unwrap();
    let started = Instant::now();
    let response = app.complete_upload(&token, asset).await;
    unavailable(response, started).await;
    let status: String = sqlx::query_scalar("select status from media_assets where id = $1::uuid")
        .bind(asset)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(status, "ready");

    // Deleting: the record stays until the object is gone, so the call can be repeated.
    let path = ticket["path"].as_str().unwrap();
    let started = Instant::now();
    let response = app.delete_media(&token, path).await;
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 1);
    // Account deletion removes files first: refused whole, the account stays.
    let started = Instant::now();
    let response = app.delete_me(&token).await;
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 1);
    assert_eq!(count("users").await, 1);
    assert!(storage.calls() >= 4, "storage was really asked");
}
