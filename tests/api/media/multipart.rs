//! The contract's upload: the photo through the service, checked by its bytes.

use serde_json::Value;

use super::{jpeg, media_app};
use crate::helpers::{TestApp, assert_error, free_port};

#[tokio::test]
async fn the_contract_upload_checks_real_bytes_and_answers_a_signed_url() {
    let app = media_app(&[]).await;
    let (user, token) = app.sign_up_and_in().await;
    let response = app.upload(&token, jpeg(2048), "image/png").await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["content_type"], "image/jpeg",
        "the type comes from the bytes"
    );
    assert_eq!(
        (body["bucket"].as_str(), body["size"].as_u64()),
        (Some("user-uploads"), Some(2048))
    );
    assert!(
        body["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{user}/"))
    );
    let downloaded = reqwest::get(body["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().len(), 2048);

    let not_image = app
        .upload(&token, b"#!/bin/sh\necho hello".to_vec(), "image/jpeg")
        .await;
    assert_error(not_image, 415, "unsupported_media_type").await;
    let empty = app.upload(&token, Vec::new(), "image/jpeg").await;
    assert_error(empty, 422, "validation_error").await;
    let huge = app
        .upload(&token, jpeg(10 * 1024 * 1024 + 1), "image/jpeg")
        .await;
    assert_error(huge, 413, "payload_too_large").await;
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(records, 1);
}

#[tokio::test]
async fn storage_down_is_a_clear_503_with_no_half_written_record() {
    // Nothing listens on this endpoint.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::builder()
        .auth()
        .storage_at(&endpoint)
        .spawn()
        .await;
    let token = app.sign_in().await;
    let response = app.upload(&token, jpeg(1000), "image/jpeg").await;
    assert_eq!(
        assert_error(response, 503, "service_unavailable")
            .await
            .detail,
        "Storage is unavailable"
    );
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(records, 0);
}
