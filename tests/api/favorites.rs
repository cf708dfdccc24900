//! Favorites: the contract, isolation between users, and safe retries.

use machinemate_api::routes::favorites::Favorite;
use serde_json::{Value, json};

use crate::helpers::{FAVORITES, TestApp, answer, assert_error, deleted_count};

async fn signed_in() -> (TestApp, String) {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}

/// Two users of one app: Alice, who favorited the leg press ("mine"), and Bob.
async fn alice_and_bob() -> (TestApp, String, String) {
    let (app, alice) = signed_in().await;
    let bob = app.sign_in().await;
    let added = app
        .add_favorite_with(&alice, json!({"machine_id": "leg_press", "notes": "mine"}))
        .await;
    assert_eq!(added.status(), 201);
    (app, alice, bob)
}

#[tokio::test]
async fn an_added_favorite_answers_201_with_its_notes_and_machine() {
    let (app, token) = signed_in().await;
    let response = app
        .add_favorite_with(&token, json!({"machine_id": "leg_press", "notes": "sled"}))
        .await;
    let favorite: Favorite = answer(response, 201).await;
    assert_eq!(&*favorite.machine_id, "leg_press");
    assert_eq!(favorite.notes.as_deref(), Some("sled"));
    assert_eq!(favorite.machine.machine().unwrap().name, "Seated Leg Press");
    assert_eq!(favorite.created_at, favorite.updated_at);
}

#[tokio::test]
async fn favorites_are_listed_newest_first_with_their_machines() {
    let (app, token) = signed_in().await;
    assert_eq!(app.add_favorite(&token, "leg_press").await.status(), 201);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.add_favorite(&token, "treadmill").await.status(), 201);

    let list = app.favorites(&token).await;
    assert_eq!(list.total, 2);
    let ids: Vec<&str> = list.favorites.iter().map(|f| &*f.machine_id).collect();
    assert_eq!(ids, ["treadmill", "leg_press"], "newest first");
    assert_eq!(list.favorites[0].machine.machine().unwrap().id, "treadmill");
}

#[tokio::test]
async fn a_machine_already_in_favorites_is_a_409() {
    let (app, token) = signed_in().await;
    assert_eq!(app.add_favorite(&token, "leg_press").await.status(), 201);
    let duplicate = app.add_favorite(&token, "leg_press").await;
    assert_eq!(
        assert_error(duplicate, 409, "conflict").await.detail,
        "Machine already in favorites"
    );
}

#[tokio::test]
async fn favoriting_an_unknown_machine_is_a_404() {
    let (app, token) = signed_in().await;
    let unknown = app.add_favorite(&token, "no_such_machine").await;
    assert_eq!(
        assert_error(unknown, 404, "not_found").await.detail,
        "Machine not found"
    );
}

#[tokio::test]
async fn a_favorite_without_a_machine_id_is_a_422_naming_the_field() {
    let (app, token) = signed_in().await;
    let invalid = app.add_favorite_with(&token, json!({"notes": "x"})).await;
    let detail = assert_error(invalid, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["loc"], json!(["body", "machine_id"]));
}

#[tokio::test]
async fn one_favorite_is_read_by_its_machine_id() {
    let (app, alice, _) = alice_and_bob().await;
    let one: Favorite = answer(app.favorite(&alice, "leg_press").await, 200).await;
    assert_eq!(one.notes.as_deref(), Some("mine"));
}

#[tokio::test]
async fn a_favorites_notes_are_updated() {
    let (app, alice, _) = alice_and_bob().await;
    let patched: Favorite = answer(
        app.update_favorite(&alice, "leg_press", json!({"notes": "feet high"}))
            .await,
        200,
    )
    .await;
    assert_eq!(patched.notes.as_deref(), Some("feet high"));
}

#[tokio::test]
async fn updating_a_machine_that_is_not_a_favorite_is_a_404() {
    let (app, token) = signed_in().await;
    let missing = app
        .update_favorite(&token, "chest_press", json!({"notes": "x"}))
        .await;
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn a_deleted_favorite_is_gone() {
    let (app, alice, _) = alice_and_bob().await;
    let deleted = app.delete_favorite(&alice, "leg_press").await;
    assert_eq!(deleted_count(deleted).await, 1);
    let again = app.delete_favorite(&alice, "leg_press").await;
    assert_error(again, 404, "not_found").await;
    assert_error(app.favorite(&alice, "leg_press").await, 404, "not_found").await;
}

#[tokio::test]
async fn clearing_favorites_deletes_the_remaining_ones_and_says_how_many() {
    let (app, alice, _) = alice_and_bob().await;
    assert_eq!(app.add_favorite(&alice, "treadmill").await.status(), 201);
    assert_eq!(
        deleted_count(app.delete_favorite(&alice, "leg_press").await).await,
        1
    );
    let cleared = app.clear_favorites(&alice).await;
    assert_eq!(deleted_count(cleared).await, 1, "treadmill was left");
    let left = app.favorites(&alice).await;
    assert!(left.favorites.is_empty());
    assert_eq!(left.total, 0);
}

#[tokio::test]
async fn favorites_are_invisible_to_other_users() {
    let (app, _, bob) = alice_and_bob().await;
    assert_eq!(app.favorites(&bob).await.total, 0);
    assert_error(app.favorite(&bob, "leg_press").await, 404, "not_found").await;
}

#[tokio::test]
async fn another_user_cannot_change_delete_or_clear_my_favorites() {
    let (app, alice, bob) = alice_and_bob().await;
    let patch = app
        .update_favorite(&bob, "leg_press", json!({"notes": "hijacked"}))
        .await;
    assert_error(patch, 404, "not_found").await;
    let delete = app.delete_favorite(&bob, "leg_press").await;
    assert_error(delete, 404, "not_found").await;
    assert_eq!(
        deleted_count(app.clear_favorites(&bob).await).await,
        0,
        "Bob has none, and Alice's are not his to clear"
    );
    let mine: Favorite = answer(app.favorite(&alice, "leg_press").await, 200).await;
    assert_eq!(mine.notes.as_deref(), Some("mine"));
}

#[tokio::test]
async fn another_user_may_favorite_the_same_machine_as_their_own() {
    let (app, _, bob) = alice_and_bob().await;
    assert_eq!(app.add_favorite(&bob, "leg_press").await.status(), 201);
}

/// `POST /api/v1/favorites` with an `Idempotency-Key`.
async fn post_with_key(app: &TestApp, token: &str, body: Value, key: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, FAVORITES, token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn favorite_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from favorites")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_creates_one_favorite() {
    let (app, token) = signed_in().await;
    let body = json!({"machine_id": "leg_press", "notes": "a"});
    let first = post_with_key(&app, &token, body.clone(), "key-1").await;
    assert_eq!(first.status(), 201);
    let first_body: Value = first.json().await.unwrap();
    let second = post_with_key(&app, &token, body, "key-1").await;
    assert_eq!(
        second.status(),
        201,
        "a replay answers like the first time, not 409"
    );
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap(), first_body);
    assert_eq!(favorite_rows(&app).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_request_is_a_422_and_creates_nothing() {
    let (app, token) = signed_in().await;
    let first = post_with_key(&app, &token, json!({"machine_id": "leg_press"}), "key-1").await;
    assert_eq!(first.status(), 201);
    let different = post_with_key(&app, &token, json!({"machine_id": "treadmill"}), "key-1").await;
    let detail = assert_error(different, 422, "validation_error")
        .await
        .detail;
    assert_eq!(detail[0]["type"], "idempotency_key_reused");
    assert_eq!(favorite_rows(&app).await, 1);
}

#[tokio::test]
async fn an_empty_idempotency_key_is_a_422() {
    let (app, token) = signed_in().await;
    let bad_key = post_with_key(&app, &token, json!({"machine_id": "treadmill"}), "").await;
    assert_error(bad_key, 422, "validation_error").await;
}
