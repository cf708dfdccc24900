//! Favorites: the contract, isolation between users, and safe retries.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, deleted_count, spawn_app_with_auth};
use crate::stand_ins::auth::keys;

const FAVORITES: &str = "/api/v1/favorites";

async fn two_users() -> (TestApp, String, String) {
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let (a, b) = (app.sign_up().await, app.sign_up().await);
    let ta = auth.token(&keys().es256, a, json!({}));
    let tb = auth.token(&keys().es256, b, json!({}));
    (app, ta, tb)
}

async fn add(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, FAVORITES, token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn favorites_follow_the_contract() {
    let (app, token, _) = two_users().await;
    let response = add(
        &app,
        &token,
        json!({"machine_id": "leg_press", "notes": "sled"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let favorite: Value = response.json().await.unwrap();
    assert_eq!(favorite["machine_id"], "leg_press");
    assert_eq!(favorite["notes"], "sled");
    assert_eq!(favorite["machine"]["name"], "Seated Leg Press");
    assert!(favorite["created_at"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        add(&app, &token, json!({"machine_id": "treadmill"}))
            .await
            .status(),
        201
    );

    let list: Value = app.get_as(FAVORITES, &token).await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    let ids: Vec<&str> = list["favorites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["machine_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["treadmill", "leg_press"], "newest first");
    assert_eq!(list["favorites"][0]["machine"]["id"], "treadmill");

    let duplicate = add(&app, &token, json!({"machine_id": "leg_press"})).await;
    assert_eq!(
        assert_error(duplicate, 409, "conflict").await.detail,
        "Machine already in favorites"
    );
    let unknown = add(&app, &token, json!({"machine_id": "no_such_machine"})).await;
    assert_eq!(
        assert_error(unknown, 404, "not_found").await.detail,
        "Machine not found"
    );
    let invalid = add(&app, &token, json!({"notes": "x"})).await;
    let detail = assert_error(invalid, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["loc"], json!(["body", "machine_id"]));

    let one: Value = app
        .get_as(&format!("{FAVORITES}/leg_press"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["notes"], "sled");
    let patched: Value = app
        .request(Method::PATCH, &format!("{FAVORITES}/leg_press"), &token)
        .json(&json!({"notes": "feet high"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["notes"], "feet high");
    let missing = app
        .request(Method::PATCH, &format!("{FAVORITES}/chest_press"), &token)
        .json(&json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found").await;

    let deleted = app
        .request(Method::DELETE, &format!("{FAVORITES}/leg_press"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted_count(deleted).await, 1);
    let again = app
        .request(Method::DELETE, &format!("{FAVORITES}/leg_press"), &token)
        .send()
        .await
        .unwrap();
    assert_error(again, 404, "not_found").await;
    assert_error(
        app.get_as(&format!("{FAVORITES}/leg_press"), &token).await,
        404,
        "not_found",
    )
    .await;

    let cleared = app
        .request(Method::DELETE, FAVORITES, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted_count(cleared).await, 1, "treadmill was left");
    let list: Value = app.get_as(FAVORITES, &token).await.json().await.unwrap();
    assert_eq!(list, json!({"favorites": [], "total": 0}));
}

#[tokio::test]
async fn another_user_never_sees_changes_or_deletes_my_favorites() {
    let (app, alice, bob) = two_users().await;
    assert_eq!(
        add(
            &app,
            &alice,
            json!({"machine_id": "leg_press", "notes": "mine"})
        )
        .await
        .status(),
        201
    );

    let list: Value = app.get_as(FAVORITES, &bob).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    assert_error(
        app.get_as(&format!("{FAVORITES}/leg_press"), &bob).await,
        404,
        "not_found",
    )
    .await;
    let patch = app
        .request(Method::PATCH, &format!("{FAVORITES}/leg_press"), &bob)
        .json(&json!({"notes": "hijacked"}))
        .send()
        .await
        .unwrap();
    assert_error(patch, 404, "not_found").await;
    let delete = app
        .request(Method::DELETE, &format!("{FAVORITES}/leg_press"), &bob)
        .send()
        .await
        .unwrap();
    assert_error(delete, 404, "not_found").await;
    assert_eq!(
        deleted_count(
            app.request(Method::DELETE, FAVORITES, &bob)
                .send()
                .await
                .unwrap()
        )
        .await,
        0,
        "Bob has none, and Alice's are not his to clear"
    );
    // Bob may favorite the same machine: it is his own row.
    assert_eq!(
        add(&app, &bob, json!({"machine_id": "leg_press"}))
            .await
            .status(),
        201
    );

    let mine: Value = app
        .get_as(&format!("{FAVORITES}/leg_press"), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["notes"], "mine");
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_creates_one_favorite() {
    let (app, token, _) = two_users().await;
    let post = |body: Value, key: &str| {
        app.request(Method::POST, FAVORITES, &token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = post(json!({"machine_id": "leg_press", "notes": "a"}), "key-1")
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first_body: Value = first.json().await.unwrap();
    let second = post(json!({"machine_id": "leg_press", "notes": "a"}), "key-1")
        .await
        .unwrap();
    assert_eq!(
        second.status(),
        201,
        "a replay answers like the first time, not 409"
    );
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap(), first_body);

    let different = post(json!({"machine_id": "treadmill"}), "key-1")
        .await
        .unwrap();
    let detail = assert_error(different, 422, "validation_error")
        .await
        .detail;
    assert_eq!(detail[0]["type"], "idempotency_key_reused");

    let count: i64 = sqlx::query_scalar("select count(*) from favorites")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let bad_key = post(json!({"machine_id": "treadmill"}), "").await.unwrap();
    assert_error(bad_key, 422, "validation_error").await;
}
