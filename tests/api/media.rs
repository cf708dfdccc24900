//! Media through presigned URLs against a real S3-compatible server that checks SigV4.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, account_deleted, assert_error, deleted_count, spawn_app_with};
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::storage::StorageServer;

/// A tiny but real JPEG header followed by filler.
fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    bytes.resize(len, 0x42);
    bytes
}

struct Media {
    app: TestApp,
    auth: AuthServer,
    storage: StorageServer,
}

async fn spawn_media(extra: &[(&str, &str)]) -> Media {
    let storage = StorageServer::start().await;
    let auth = AuthServer::start(&[&keys().es256]).await;
    let (storage_env, auth_env) = (storage.env(), auth.env());
    let mut env: Vec<(&str, &str)> = storage_env
        .iter()
        .chain(auth_env.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    env.extend_from_slice(extra);
    let app = spawn_app_with(&env).await;
    Media { app, auth, storage }
}

impl Media {
    async fn user(&self) -> (Uuid, String) {
        let id = self.app.sign_up().await;
        (id, self.auth.token(&keys().es256, id, json!({})))
    }

    async fn ticket(&self, token: &str, size: usize) -> Value {
        let response = self
            .app
            .request(Method::POST, "/api/v1/media/upload-url", token)
            .json(&json!({"content_type": "image/jpeg", "size_bytes": size, "asset_type": "user_photo"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

async fn put(ticket: &Value, body: Vec<u8>, content_type: &str) -> reqwest::Response {
    reqwest::Client::new()
        .put(ticket["upload_url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_presigned_upload_is_completed_and_downloads_the_same_bytes() {
    let m = spawn_media(&[]).await;
    let (user, token) = m.user().await;
    let bytes = jpeg(50_000);
    let ticket = m.ticket(&token, bytes.len()).await;
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
    let early = m
        .app
        .request(
            Method::POST,
            &format!("/api/v1/media/{asset_id}/complete"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_error(early, 409, "conflict").await;

    assert!(
        put(&ticket, bytes.clone(), "image/jpeg")
            .await
            .status()
            .is_success()
    );
    let done = m
        .app
        .request(
            Method::POST,
            &format!("/api/v1/media/{asset_id}/complete"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(
        (done["status"].as_str(), done["size_bytes"].as_i64()),
        (Some("ready"), Some(bytes.len() as i64))
    );

    let url: Value = m
        .app
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

    let list: Value = m
        .app
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
    let m = spawn_media(&[("STORAGE_SIGNED_URL_TTL_SECS", "1")]).await;
    let (_, token) = m.user().await;
    let ticket = m.ticket(&token, 1000).await;
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
    let m = spawn_media(&[]).await;
    let (_, token) = m.user().await;
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
        let response = m
            .app
            .request(Method::POST, "/api/v1/media/upload-url", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert_eq!(detail[0]["loc"], json!(["body", field]), "{body}");
    }
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&m.app.db)
        .await
        .unwrap();
    assert_eq!(records, 0);
}

#[tokio::test]
async fn another_users_assets_and_paths_are_out_of_reach() {
    let m = spawn_media(&[]).await;
    let (_, alice) = m.user().await;
    let (_, bob) = m.user().await;
    let ticket = m.ticket(&alice, 100).await;
    put(&ticket, jpeg(100), "image/jpeg").await;
    let id = ticket["asset_id"].as_str().unwrap();
    let path = ticket["path"].as_str().unwrap();
    m.app
        .request(
            Method::POST,
            &format!("/api/v1/media/{id}/complete"),
            &alice,
        )
        .send()
        .await
        .unwrap();

    assert_error(
        m.app.get_as(&format!("/api/v1/media/{id}/url"), &bob).await,
        404,
        "not_found",
    )
    .await;
    let complete = m
        .app
        .request(Method::POST, &format!("/api/v1/media/{id}/complete"), &bob)
        .send()
        .await
        .unwrap();
    assert_error(complete, 404, "not_found").await;
    for bad in [path.to_owned(), format!("{}/../{path}", Uuid::new_v4())] {
        let delete = m
            .app
            .request(Method::DELETE, &format!("/api/v1/media/delete/{bad}"), &bob)
            .send()
            .await
            .unwrap();
        assert_error(delete, 403, "forbidden").await;
    }
    assert!(m.storage.object_exists("user-uploads", path));
    let list: Value = m
        .app
        .get_as("/api/v1/media", &bob)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);

    let delete = m
        .app
        .request(
            Method::DELETE,
            &format!("/api/v1/media/delete/{path}"),
            &alice,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted_count(delete).await, 1);
    assert!(!m.storage.object_exists("user-uploads", path));
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&m.app.db)
        .await
        .unwrap();
    assert_eq!(records, 0);
}

fn multipart(bytes: Vec<u8>, content_type: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("photo.jpg")
            .mime_str(content_type)
            .unwrap(),
    )
}

#[tokio::test]
async fn the_contract_upload_checks_real_bytes_and_answers_a_signed_url() {
    let m = spawn_media(&[]).await;
    let (user, token) = m.user().await;
    let upload = |form| {
        m.app
            .request(Method::POST, "/api/v1/media/upload", &token)
            .multipart(form)
            .send()
    };

    let response = upload(multipart(jpeg(2048), "image/png")).await.unwrap();
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

    let not_image = upload(multipart(b"#!/bin/sh\necho hello".to_vec(), "image/jpeg"))
        .await
        .unwrap();
    assert_error(not_image, 415, "unsupported_media_type").await;
    let empty = upload(multipart(Vec::new(), "image/jpeg")).await.unwrap();
    assert_error(empty, 422, "validation_error").await;
    let huge = upload(multipart(jpeg(10 * 1024 * 1024 + 1), "image/jpeg"))
        .await
        .unwrap();
    assert_error(huge, 413, "payload_too_large").await;
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&m.app.db)
        .await
        .unwrap();
    assert_eq!(records, 1);
}

#[tokio::test]
async fn storage_down_is_a_clear_503_with_no_half_written_record() {
    // Nothing listens on this endpoint.
    let port = crate::helpers::free_port();
    let auth = AuthServer::start(&[&keys().es256]).await;
    let auth_env = auth.env();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("STORAGE_S3_ENDPOINT", endpoint.as_str()),
        ("STORAGE_S3_ACCESS_KEY_ID", "x"),
        ("STORAGE_S3_SECRET_ACCESS_KEY", "y"),
    ]);
    let app = spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    let response = app
        .request(Method::POST, "/api/v1/media/upload", &token)
        .multipart(multipart(jpeg(1000), "image/jpeg"))
        .send()
        .await
        .unwrap();
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

#[tokio::test]
async fn machine_media_has_usable_urls_and_tutorials_need_a_sign_in() {
    let m = spawn_media(&[]).await;
    let (_, token) = m.user().await;
    std::fs::create_dir_all(m.storage.root.join("machines/leg_press")).unwrap();
    for (bucket, path, asset_type, content_type) in [
        ("machines", "leg_press/photo.jpg", "image", "image/jpeg"),
        ("tutorials", "leg_press/howto.mp4", "video", "video/mp4"),
    ] {
        sqlx::query(
            "insert into media_assets (machine_id, bucket, path, asset_type, content_type, size_bytes, status) \
             values ('leg_press', $1, $2, $3, $4, 10, 'ready')",
        )
        .bind(bucket)
        .bind(path)
        .bind(asset_type)
        .bind(content_type)
        .execute(&m.app.db)
        .await
        .unwrap();
    }
    let anonymous = m
        .app
        .get_json("/api/v1/machines/leg_press/media", 200)
        .await;
    let anonymous = anonymous.as_array().unwrap();
    assert_eq!(anonymous.len(), 1);
    assert_eq!(anonymous[0]["bucket"], "machines");
    assert!(
        anonymous[0]["expires_at"].is_null(),
        "public objects get a plain URL"
    );

    let signed_in: Value = m
        .app
        .get_as("/api/v1/machines/leg_press/media", &token)
        .await
        .json()
        .await
        .unwrap();
    let tutorial = signed_in
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["bucket"] == "tutorials")
        .unwrap();
    assert!(
        tutorial["url"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Signature")
    );
    assert_error(
        m.app.get("/api/v1/machines/no_such_machine/media").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn deleting_the_account_removes_the_callers_files() {
    let m = spawn_media(&[]).await;
    let (user, token) = m.user().await;
    let (_, other) = m.user().await;
    let mine: Value = m
        .app
        .request(Method::POST, "/api/v1/media/upload", &token)
        .multipart(multipart(jpeg(500), "image/jpeg"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // An upload that was never completed is removed too.
    let ticket = m.ticket(&token, 100).await;
    put(&ticket, jpeg(100), "image/jpeg").await;
    let theirs: Value = m
        .app
        .request(Method::POST, "/api/v1/media/upload", &other)
        .multipart(multipart(jpeg(500), "image/jpeg"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let deleted = m
        .app
        .request(Method::DELETE, "/api/v1/users/me", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(account_deleted(deleted).await, (1, false));
    assert!(
        !m.storage
            .object_exists("user-uploads", mine["path"].as_str().unwrap())
    );
    assert!(
        !m.storage
            .object_exists("user-uploads", ticket["path"].as_str().unwrap())
    );
    assert!(
        m.storage
            .object_exists("user-uploads", theirs["path"].as_str().unwrap())
    );
    let left: i64 = sqlx::query_scalar("select count(*) from media_assets where owner_id = $1")
        .bind(user)
        .fetch_one(&m.app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
