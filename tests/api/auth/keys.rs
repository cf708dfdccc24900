//! The signing keys: fetched from the JWKS endpoint, cached, refetched for a new key (at
//! most so often), dropped when unpublished, and kept while the endpoint is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{assert_accepted, assert_rejected};
use crate::helpers::{ME, TestApp, assert_error};
use crate::stand_ins::StandIn;
use crate::stand_ins::auth::keys;

#[tokio::test]
async fn a_new_key_is_accepted_after_one_refetch() {
    let keys = keys();
    let app = TestApp::builder()
        .auth_publishing(&[&keys.es256])
        // No throttle here: the rotation follows the first fetch at once.
        .env(("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"))
        .spawn()
        .await;
    let auth = app.auth();
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    assert_eq!(auth.fetches(), 1);

    auth.publish(&[&keys.es256, &keys.es256_next]);
    assert_accepted(&app, &auth.token(&keys.es256_next, user, json!({}))).await;
    assert_eq!(auth.fetches(), 2);
    // Both keys are now cached: no more fetches.
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    assert_accepted(&app, &auth.token(&keys.es256_next, user, json!({}))).await;
    assert_eq!(auth.fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let keys = keys();
    let app = TestApp::builder()
        .auth()
        .env(("SUPABASE_JWKS_REFRESH_MIN_SECS", "60"))
        .spawn()
        .await;
    let auth = app.auth();
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    let before = auth.fetches();
    let claims = auth.claims(user);
    let requests = (0..40).map(|i| {
        let token = keys
            .es256_next
            .renamed(&format!("forged-{i}"))
            .sign(&claims);
        let app = &app;
        async move { app.get_as(ME, &token).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        auth.fetches() - before <= 1,
        "{} refetches",
        auth.fetches() - before
    );
}

#[tokio::test]
async fn a_removed_key_stops_working_after_the_cache_bound() {
    let keys = keys();
    let app = TestApp::builder()
        .auth()
        .env(("SUPABASE_JWKS_CACHE_SECS", "1"))
        .env(("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"))
        .spawn()
        .await;
    let auth = app.auth();
    let user = app.sign_up().await;
    let token = auth.token(&keys.es256, user, json!({}));
    assert_accepted(&app, &token).await;

    auth.publish(&[&keys.rs256]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The same token: its verified-cache entry expired with the key bound too.
    assert_rejected(&app, &token, "Unknown signing key").await;
    assert_accepted(&app, &auth.token(&keys.rs256, user, json!({}))).await;
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_jwks_endpoint_is_down() {
    let keys = keys();
    let app = TestApp::builder()
        .auth()
        .env(("SUPABASE_JWKS_CACHE_SECS", "1"))
        .env(("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"))
        .spawn()
        .await;
    let auth = app.auth();
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;

    auth.set_down(true);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fetches = auth.fetches();
    // A fresh token (not in the verified cache) while the keys are stale and the
    // endpoint fails: verified with the cached key.
    assert_accepted(
        &app,
        &auth.token(&keys.es256, user, json!({"session_id": Uuid::new_v4()})),
    )
    .await;
    assert!(auth.fetches() > fetches, "a refetch was attempted");
}

#[tokio::test]
async fn no_keys_and_the_endpoint_down_is_a_503_not_a_401() {
    let keys = keys();
    let app = TestApp::builder().auth().spawn().await;
    let auth = app.auth();
    auth.set_down(true);
    let user = app.sign_up().await;
    let response = app
        .get_as(ME, &auth.token(&keys.es256, user, json!({})))
        .await;
    let detail = assert_error(response, 503, "service_unavailable")
        .await
        .detail;
    assert_eq!(
        detail,
        "Authentication is unavailable: signing keys could not be fetched"
    );
}

#[tokio::test]
async fn an_endless_jwks_answer_is_refused_while_it_is_read_not_after() {
    // A JWKS endpoint that streams chunks for ever, with no length: the service must stop
    // at its size limit, not hold the answer whole (until its timeout) before checking.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let endless = StandIn::tcp(move |mut socket| {
        let counter = counter.clone();
        async move {
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {
                counter.fetch_add(0x10000, Ordering::SeqCst);
            }
        }
    })
    .await;
    // The Auth stand-in's issuer, with the endless endpoint for its keys.
    let jwks = endless.url("/auth/v1/.well-known/jwks.json");
    let app = TestApp::builder()
        .auth_publishing(&[&keys().es256])
        .env(("SUPABASE_JWT_JWKS_URL", &jwks))
        .spawn()
        .await;
    let token = app.token_for(Uuid::new_v4());
    let response = app.get_as("/api/v1/favorites", &token).await;
    assert_eq!(response.status(), 503, "no signing keys could be had");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let read = sent.load(Ordering::SeqCst);
    // The limit is 256 KiB; socket buffers on both sides hold a few MB more at most.
    assert!(read < 8 * 1024 * 1024, "{read} bytes were read");
}
