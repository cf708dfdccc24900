//! A deleted account's access token stays valid until it expires (Supabase cannot recall
//! it): every route that reads a token answers it 401 "Account deleted", on every
//! instance, and nothing recreates the account's profile.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ME, TestApp, account_deleted, assert_error};
use crate::stand_ins::fireworks::says;

/// Every kind of call a signed-in app makes, as `(method, path, body)`.
fn calls() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::GET, ME, None),
        (Method::PATCH, ME, Some(json!({"display_name": "Back"}))),
        (Method::GET, "/api/v1/users/me/export", None),
        (Method::GET, "/api/v1/favorites", None),
        (
            Method::POST,
            "/api/v1/favorites",
            Some(json!({"machine_id": "treadmill"})),
        ),
        (Method::DELETE, "/api/v1/favorites/leg_press", None),
        (Method::GET, "/api/v1/history", None),
        (
            Method::POST,
            "/api/v1/history",
            Some(json!({"machine_id": "leg_press"})),
        ),
        (
            Method::POST,
            "/api/v1/history/batch",
            Some(json!({"entries": [{"machine_id": "leg_press"}]})),
        ),
        (Method::GET, "/api/v1/sync", None),
        (Method::GET, "/api/v1/media", None),
        (
            Method::POST,
            "/api/v1/media/upload-url",
            Some(
                json!({"content_type": "image/jpeg", "size_bytes": 1000, "asset_type": "user_photo"}),
            ),
        ),
    ]
}

/// A real (small) PNG photo.
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([120, 90, 160]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn profile_exists(app: &TestApp, user: Uuid) -> bool {
    sqlx::query_scalar("select exists (select 1 from public.users where id = $1)")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deleted_accounts_token_is_refused_everywhere_on_every_instance_and_never_recreated() {
    // Locally the sign-in itself outlives the account (no admin API): the worst case.
    let first = TestApp::builder()
        .auth()
        .storage()
        .fireworks(says("Leg Press", 0.9))
        .spawn()
        .await;
    let second = first.another_instance().spawn().await;
    let (user, token) = first.sign_up_and_in().await;
    // Both instances know the user before the deletion (their caches say so).
    for app in [&first, &second] {
        assert_eq!(app.get_as(ME, &token).await.status(), 200);
    }
    assert_eq!(first.add_favorite(&token, "leg_press").await.status(), 201);

    assert_eq!(
        account_deleted(first.delete_me(&token).await).await,
        (1, false)
    );

    for app in [&first, &second] {
        for (method, path, body) in calls() {
            let mut request = app.request(method.clone(), path, &token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let answer = assert_error(response, 401, "unauthorized").await;
            assert_eq!(answer.detail, "Account deleted", "{method} {path}");
            assert!(answer.headers.contains_key("www-authenticate"), "{path}");
        }
        let photo = app.identify(&token, photo()).await;
        assert_eq!(
            assert_error(photo, 401, "unauthorized").await.detail,
            "Account deleted"
        );
    }
    assert!(!profile_exists(&first, user).await, "the profile came back");
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from favorites where user_id = $1) \
              + (select count(*) from history where user_id = $1) \
              + (select count(*) from media_assets where owner_id = $1) \
              + (select count(*) from identification_events where user_id = $1) \
              + (select count(*) from identification_quota where user_id = $1)",
    )
    .bind(user)
    .fetch_one(&first.db)
    .await
    .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(first.fireworks().calls(), 0);

    // Repeating the deletion still answers (it may have to finish the sign-in's), on
    // either instance, and recreates nothing.
    for app in [&first, &second] {
        assert_eq!(
            account_deleted(app.delete_me(&token).await).await,
            (0, false)
        );
    }
    assert!(!profile_exists(&first, user).await);
}

#[tokio::test]
async fn a_new_sign_in_after_the_deletion_is_a_new_account() {
    let app = TestApp::builder().auth().spawn().await;
    let (user, old_token) = app.sign_up_and_in().await;
    assert_eq!(
        account_deleted(app.delete_me(&old_token).await).await,
        (1, false)
    );
    // The same id signs up again (only a local stack can reuse one) a second later: its
    // new tokens work, its old ones do not.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sqlx::query("delete from auth.users where id = $1")
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("insert into auth.users (id, email) values ($1, 'again@example.com')")
        .bind(user)
        .execute(&app.db)
        .await
        .unwrap();
    let new_token = app.token_for(user);
    assert_eq!(app.get_as(ME, &new_token).await.status(), 200);
    let old = app.get_as(ME, &old_token).await;
    assert_eq!(
        assert_error(old, 401, "unauthorized").await.detail,
        "Account deleted"
    );
}
