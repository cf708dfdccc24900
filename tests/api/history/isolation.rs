//! One user's history is theirs alone.

use machinemate_api::routes::history::HistoryEntry;
use serde_json::json;

use super::{added_entry, signed_in};
use crate::helpers::{TestApp, answer, assert_error, deleted_count};

/// Alice with one entry (the leg press), and Bob; returns their tokens and her entry's id.
async fn alice_and_bob() -> (TestApp, String, String, String) {
    let (app, alice) = signed_in().await;
    let bob = app.sign_in().await;
    let entry = added_entry(&app, &alice, json!({"machine_id": "leg_press"})).await;
    let id = entry.id.to_string();
    (app, alice, bob, id)
}

#[tokio::test]
async fn history_is_invisible_to_other_users() {
    let (app, _, bob, id) = alice_and_bob().await;
    assert_eq!(app.history_page(&bob, "").await.total, 0);
    assert_error(app.history_entry(&bob, &id).await, 404, "not_found").await;
}

#[tokio::test]
async fn another_user_cannot_delete_or_clear_my_history() {
    let (app, alice, bob, id) = alice_and_bob().await;
    let delete = app.delete_history_entry(&bob, &id).await;
    assert_error(delete, 404, "not_found").await;
    assert_eq!(
        deleted_count(app.clear_history(&bob).await).await,
        0,
        "Bob has none, and Alice's are not his to clear"
    );
    assert_eq!(app.history_page(&alice, "").await.total, 1);
}

#[tokio::test]
async fn my_entry_id_reused_by_another_user_is_a_409_and_leaves_my_entry() {
    let (app, alice, bob, id) = alice_and_bob().await;
    // Reusing Alice's entry id as a client id does not reach her entry.
    let reuse = app
        .add_history(&bob, json!({"id": id, "machine_id": "treadmill"}))
        .await;
    assert_error(reuse, 409, "conflict").await;
    let mine: HistoryEntry = answer(app.history_entry(&alice, &id).await, 200).await;
    assert_eq!(&*mine.machine_id, "leg_press");
}
