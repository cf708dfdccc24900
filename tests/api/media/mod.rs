//! Media against a real S3-compatible server that checks SigV4: uploads through
//! presigned URLs (`presigned.rs`) and through the service (`multipart.rs`), and who
//! reaches which files (`reach.rs`).

mod multipart;
mod off;
mod presigned;
mod reach;

use serde_json::Value;

use crate::helpers::TestApp;

/// A tiny but real JPEG header followed by filler.
fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    bytes.resize(len, 0x42);
    bytes
}

/// The app with storage and Auth, and `extra` settings.
async fn media_app(extra: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder().auth().storage();
    for pair in extra {
        builder = builder.env(*pair);
    }
    builder.spawn().await
}

/// An upload ticket (`POST /api/v1/media/upload-url`) for a JPEG of `size` bytes.
async fn ticket(app: &TestApp, token: &str, size: usize) -> Value {
    let response = app.upload_ticket(token, "image/jpeg", size).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The upload itself, to the ticket's presigned URL.
async fn put(ticket: &Value, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    reqwest::Client::new()
        .put(ticket["upload_url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}
