//! Uploads through presigned URLs: the ticket, the upload, the confirmation.

use serde_json::{Value, json};

use super::{jpeg, media_app, put, ticket};
use crate::helpers::assert_error;

#[tokio::test]
async fn a_presigned_upload_is_completed_and_downloads_the_same_bytes() {
    let app = media_app(&[]).await;
    let (user, token) = app.sign_up_and_in().await;
    let bytes = jpeg(50_000);
    let ticket = ticket(&app, &token, bytes.len()).await;
    assert_eq!(ticket["method"], "PUT");
    assert_eq!(ticket["bucket"], "user-uploads");
    assert!(
        ticket["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{user}/"))
    );
    assert_eq!(ticket["headers"]["content-type"], "image/jpeg");

    let asset_id = ticket["asset_id"].as_str().unwrap();
    let early = app.complete_upload(&token, asset_id).await;
    assert_error(early, 409, "conflict").await;

    assert!(
        put(&ticket, bytes.clone(), "image/jpeg")
            .await
            .status()
            .is_success()
    );
    let done = app.complete_upload(&token, asset_id).await;
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(
        (done["status"].as_str(), done["size_bytes"].as_i64()),
        (Some("ready"), Some(bytes.len() as i64))
    );

    let url: Value = app
        .get_as(&format!("/api/v1/media/{asset_id}/url"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(url["expires_at"].is_string());
    let downloaded = reqwest::get(url["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    // A URL with one character changed does not work.
    let mut tampered = url["url"].as_str().unwrap().to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert!(
        reqwest::get(&tampered)
            .await
            .unwrap()
            .status()
            .is_client_error()
    );

    let list: Value = app
        .get_as("/api/v1/media", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["assets"][0]["id"], asset_id);
}

#[tokio::test]
async fn signed_urls_bind_their_content_type_and_expire() {
    let app = media_app(&[("STORAGE_SIGNED_URL_TTL_SECS", "1")]).await;
    let (_, token) = app.sign_up_and_in().await;
    let ticket = ticket(&app, &token, 1000).await;
    let wrong_type = put(&ticket, jpeg(1000), "image/png").await;
    assert!(
        wrong_type.status().is_client_error(),
        "{}",
        wrong_type.status()
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = put(&ticket, jpeg(1000), "image/jpeg").await;
    assert!(expired.status().is_client_error(), "{}", expired.status());
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_url_exists() {
    let app = media_app(&[]).await;
    let (_, token) = app.sign_up_and_in().await;
    for (body, field) in [
        (
            json!({"content_type": "image/gif", "size_bytes": 10, "asset_type": "user_photo"}),
            "content_type",
        ),
        (
            json!({"content_type": "image/jpeg", "size_bytes": 11 * 1024 * 1024, "asset_type": "user_photo"}),
            "size_bytes",
        ),
        (
            json!({"content_type": "image/jpeg", "size_bytes": 0, "asset_type": "user_photo"}),
            "size_bytes",
        ),
        (
            json!({"content_type": "video/mp4", "size_bytes": 10, "asset_type": "video"}),
            "asset_type",
        ),
    ] {
        let response = app
            .post_json("/api/v1/media/upload-url", &token, &body)
            .await;
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert_eq!(detail[0]["loc"], json!(["body", field]), "{body}");
    }
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(records, 0);
}
