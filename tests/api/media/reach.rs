//! Who reaches which files: not another user's, the catalog's for everyone, tutorials
//! for the signed-in, and none of a deleted account's.

use serde_json::Value;
use uuid::Uuid;

use super::{jpeg, media_app, put, ticket};
use crate::helpers::{account_deleted, assert_error, deleted_count};

#[tokio::test]
async fn another_users_assets_and_paths_are_out_of_reach() {
    let app = media_app(&[]).await;
    let (_, alice) = app.sign_up_and_in().await;
    let (_, bob) = app.sign_up_and_in().await;
    let ticket = ticket(&app, &alice, 100).await;
    put(&ticket, jpeg(100), "image/jpeg").await;
    let id = ticket["asset_id"].as_str().unwrap();
    let path = ticket["path"].as_str().unwrap();
    app.complete_upload(&alice, id).await;

    assert_error(
        app.get_as(&format!("/api/v1/media/{id}/url"), &bob).await,
        404,
        "not_found",
    )
    .await;
    let complete = app.complete_upload(&bob, id).await;
    assert_error(complete, 404, "not_found").await;
    for bad in [path.to_owned(), format!("{}/../{path}", Uuid::new_v4())] {
        let delete = app.delete_media(&bob, &bad).await;
        assert_error(delete, 403, "forbidden").await;
    }
    assert!(app.storage().object_exists("user-uploads", path));
    let list: Value = app
        .get_as("/api/v1/media", &bob)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);

    let delete = app.delete_media(&alice, path).await;
    assert_eq!(deleted_count(delete).await, 1);
    assert!(!app.storage().object_exists("user-uploads", path));
    let records: i64 = sqlx::query_scalar("select count(*) from media_assets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(records, 0);
}

#[tokio::test]
async fn machine_media_has_usable_urls_and_tutorials_need_a_sign_in() {
    let app = media_app(&[]).await;
    let (_, token) = app.sign_up_and_in().await;
    std::fs::create_dir_all(app.storage().root.join("machines/leg_press")).unwrap();
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
        .execute(&app.db)
        .await
        .unwrap();
    }
    let anonymous = app.get_json("/api/v1/machines/leg_press/media", 200).await;
    let anonymous = anonymous.as_array().unwrap();
    assert_eq!(anonymous.len(), 1);
    assert_eq!(anonymous[0]["bucket"], "machines");
    assert!(
        anonymous[0]["expires_at"].is_null(),
        "public objects get a plain URL"
    );

    let signed_in: Value = app
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
        app.get("/api/v1/machines/no_such_machine/media").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn deleting_the_account_removes_the_callers_files() {
    let app = media_app(&[]).await;
    let (user, token) = app.sign_up_and_in().await;
    let (_, other) = app.sign_up_and_in().await;
    let mine: Value = app
        .upload(&token, jpeg(500), "image/jpeg")
        .await
        .json()
        .await
        .unwrap();
    // An upload that was never completed is removed too.
    let ticket = ticket(&app, &token, 100).await;
    put(&ticket, jpeg(100), "image/jpeg").await;
    let theirs: Value = app
        .upload(&other, jpeg(500), "image/jpeg")
        .await
        .json()
        .await
        .unwrap();

    let deleted = app.delete_me(&token).await;
    assert_eq!(account_deleted(deleted).await, (1, false));
    assert!(
        !app.storage()
            .object_exists("user-uploads", mine["path"].as_str().unwrap())
    );
    assert!(
        !app.storage()
            .object_exists("user-uploads", ticket["path"].as_str().unwrap())
    );
    assert!(
        app.storage()
            .object_exists("user-uploads", theirs["path"].as_str().unwrap())
    );
    let left: i64 = sqlx::query_scalar("select count(*) from media_assets where owner_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
