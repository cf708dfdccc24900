//! Uploads through presigned URLs: the ticket, the upload, the confirmation.

use machinemate_api::routes::media::{MediaPage, MediaUrl, MediaWithUrl};
use serde_json::json;

use super::{jpeg, media_app, put, ticket};
use crate::helpers::{answer, assert_error};

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
    let done: MediaWithUrl = answer(app.complete_upload(&token, asset_id).await, 200).await;
    assert_eq!(
        (done.asset.status.as_str(), done.asset.size_bytes),
        ("ready", Some(bytes.len() as i64))
    );

    let url: MediaUrl = answer(
        app.get_as(&format!("/api/v1/media/{asset_id}/url"), &token)
            .await,
        200,
    )
    .await;
    assert!(url.expires_at.is_some());
    let downloaded = reqwest::get(&url.url).await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), bytes);

    // A URL with one character changed does not work.
    let mut tampered = url.url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert!(
        reqwest::get(&tampered)
            .await
            .unwrap()
            .status()
            .is_client_error()
    );

    let list: MediaPage = answer(app.get_as("/api/v1/media", &token).await, 200).await;
    assert_eq!(list.total, 1);
    assert_eq!(list.assets[0].id.to_string(), asset_id);
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

/// Every object under `user`'s folder in the stand-in's user-uploads.
fn stored_under(app: &crate::helpers::TestApp, user: &str) -> Vec<String> {
    let root = app.storage().root.join("user-uploads");
    let mut found = Vec::new();
    let mut dirs = vec![root.join(user)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Makes every object under `user`'s folder two hours old, as if time had passed.
fn age_objects(app: &crate::helpers::TestApp, user: &str) {
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for key in stored_under(app, user) {
        let file = std::fs::File::options()
            .write(true)
            .open(app.storage().root.join("user-uploads").join(key))
            .unwrap();
        file.set_modified(two_hours_ago).unwrap();
    }
}

#[tokio::test]
async fn a_file_that_is_not_the_declared_image_is_refused_at_completion_and_removed() {
    let app = media_app(&[]).await;
    let (user, token) = app.sign_up_and_in().await;
    let mut html = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    html.resize(1000, b' ');
    let ticket = ticket(&app, &token, html.len()).await;
    assert!(put(&ticket, html, "image/jpeg").await.status().is_success());
    let asset_id = ticket["asset_id"].as_str().unwrap();
    let refused = app.complete_upload(&token, asset_id).await;
    let detail = assert_error(refused, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["type"], "upload_mismatch");
    assert_eq!(stored_under(&app, &user.to_string()), Vec::<String>::new());
    let url = app
        .get_as(&format!("/api/v1/media/{asset_id}/url"), &token)
        .await;
    assert_error(url, 404, "not_found").await;
}

#[tokio::test]
async fn a_file_sent_again_after_completion_never_replaces_the_photo() {
    let app = media_app(&[]).await;
    let (_, token) = app.sign_up_and_in().await;
    let photo = jpeg(50_000);
    let ticket = ticket(&app, &token, photo.len()).await;
    assert!(
        put(&ticket, photo.clone(), "image/jpeg")
            .await
            .status()
            .is_success()
    );
    let asset_id = ticket["asset_id"].as_str().unwrap();
    assert_eq!(app.complete_upload(&token, asset_id).await.status(), 200);
    // The URL is still within its 15 minutes: a 5 MB replacement is sent to it.
    let mut replacement = b"<html>".to_vec();
    replacement.resize(5 * 1024 * 1024, b'x');
    put(&ticket, replacement, "image/jpeg").await;
    let url: MediaUrl = answer(
        app.get_as(&format!("/api/v1/media/{asset_id}/url"), &token)
            .await,
        200,
    )
    .await;
    let served = reqwest::get(&url.url).await.unwrap();
    assert_eq!(served.bytes().await.unwrap().to_vec(), photo);
}

#[tokio::test]
async fn uploads_no_record_names_are_swept_after_the_record_or_the_account_is_gone() {
    let app = media_app(&[]).await;
    let (kept_user, kept_token) = app.sign_up_and_in().await;
    let (user, token) = app.sign_up_and_in().await;
    // A photo that stays: completed, recorded.
    let kept = ticket(&app, &kept_token, 1000).await;
    put(&kept, jpeg(1000), "image/jpeg").await;
    let kept_id = kept["asset_id"].as_str().unwrap();
    assert_eq!(
        app.complete_upload(&kept_token, kept_id).await.status(),
        200
    );
    // Its record deleted, then the URL used again.
    let deleted = ticket(&app, &token, 1000).await;
    put(&deleted, jpeg(1000), "image/jpeg").await;
    let deleted_id = deleted["asset_id"].as_str().unwrap();
    assert_eq!(app.complete_upload(&token, deleted_id).await.status(), 200);
    let path = deleted["path"].as_str().unwrap();
    assert_eq!(app.delete_media(&token, path).await.status(), 200);
    put(&deleted, jpeg(1000), "image/jpeg").await;
    // Never completed.
    let abandoned = ticket(&app, &token, 1000).await;
    put(&abandoned, jpeg(1000), "image/jpeg").await;
    // The whole account deleted, then a URL it had used.
    let (gone, gone_token) = app.sign_up_and_in().await;
    let late = ticket(&app, &gone_token, 1000).await;
    assert_eq!(app.delete_me(&gone_token).await.status(), 200);
    put(&late, jpeg(1000), "image/jpeg").await;
    assert_eq!(stored_under(&app, &user.to_string()).len(), 2);
    assert_eq!(stored_under(&app, &gone.to_string()).len(), 1);

    for owner in [kept_user, user, gone] {
        age_objects(&app, &owner.to_string());
    }
    sqlx::query("update media_assets set created_at = now() - interval '2 hours'")
        .execute(&app.db)
        .await
        .unwrap();
    let removed = app.maintain(&[]).await;
    assert_eq!(removed["pending_uploads"], 1, "{removed:?}");
    assert_eq!(removed["unclaimed_uploads"], 2, "{removed:?}");
    assert_eq!(stored_under(&app, &user.to_string()), Vec::<String>::new());
    assert_eq!(stored_under(&app, &gone.to_string()), Vec::<String>::new());
    assert_eq!(
        stored_under(&app, &kept_user.to_string()),
        [format!("{kept_user}/{kept_id}.jpg")]
    );
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(records, 1);
}
