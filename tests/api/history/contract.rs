//! What each history route answers, as the contract says.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{added, signed_in, three_entries};
use crate::helpers::{HISTORY, assert_error, deleted_count};

#[tokio::test]
async fn an_entry_is_recorded_with_its_machine_and_the_default_source() {
    let (app, token) = signed_in().await;
    let entry = added(&app, &token, json!({"machine_id": "leg_press", "confidence": 0.93, "taken_at": "2026-01-02T03:04:05Z", "photo_uri": "file:///a.jpg"})).await;
    assert_eq!(entry["machine_id"], "leg_press");
    assert_eq!(entry["source"], "backend_api");
    assert_eq!(entry["confidence"], 0.93);
    assert_eq!(entry["taken_at"], "2026-01-02T03:04:05Z");
    assert_eq!(entry["photo_uri"], "file:///a.jpg");
    assert_eq!(entry["machine"]["name"], "Seated Leg Press");
    assert!(entry["id"].is_string());
}

#[tokio::test]
async fn history_is_listed_latest_taken_first_in_pages_of_twenty() {
    let (app, token) = signed_in().await;
    three_entries(&app, &token).await;
    let page = app.get_json_as(HISTORY, &token).await;
    assert_eq!(page["total"], 3);
    assert_eq!(
        (page["page"].as_u64(), page["page_size"].as_u64()),
        (Some(1), Some(20))
    );
    let taken: Vec<&str> = page["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["taken_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        taken,
        [
            "2026-03-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-01-02T03:04:05Z"
        ]
    );
}

#[tokio::test]
async fn history_is_filtered_by_machine_and_paged() {
    let (app, token) = signed_in().await;
    let first = three_entries(&app, &token).await;
    let filtered = app
        .get_json_as(
            &format!("{HISTORY}?machine_id=leg_press&page_size=1&page=2"),
            &token,
        )
        .await;
    assert_eq!(filtered["total"], 2);
    assert_eq!(filtered["history"][0]["id"], first.as_str());
}

#[tokio::test]
async fn a_page_past_the_end_is_empty_and_keeps_the_total() {
    let (app, token) = signed_in().await;
    three_entries(&app, &token).await;
    let past_end = app.get_json_as(&format!("{HISTORY}?page=9"), &token).await;
    assert_eq!(
        (
            past_end["total"].as_i64(),
            past_end["history"].as_array().unwrap().len()
        ),
        (Some(3), 0)
    );
}

#[tokio::test]
async fn a_page_size_over_100_is_a_422() {
    let (app, token) = signed_in().await;
    assert_error(
        app.get_as("/api/v1/history?page_size=101", &token).await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn one_entry_is_read_by_its_id() {
    let (app, token) = signed_in().await;
    let id = three_entries(&app, &token).await;
    let one: Value = app.history_entry(&token, &id).await.json().await.unwrap();
    assert_eq!(one["id"], id.as_str());
}

#[tokio::test]
async fn an_unknown_entry_is_a_404_and_an_id_that_is_not_a_uuid_a_422() {
    let (app, token) = signed_in().await;
    assert_error(
        app.history_entry(&token, &Uuid::new_v4().to_string()).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.history_entry(&token, "not-a-uuid").await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn out_of_range_or_malformed_fields_are_a_422_naming_the_field() {
    let (app, token) = signed_in().await;
    for (body, field) in [
        (
            json!({"machine_id": "leg_press", "confidence": 1.5}),
            "confidence",
        ),
        (
            json!({"machine_id": "leg_press", "confidence": -0.1}),
            "confidence",
        ),
        (json!({"machine_id": "leg_press", "source": ""}), "source"),
        (
            json!({"machine_id": "leg_press", "taken_at": "2999-01-01T00:00:00Z"}),
            "taken_at",
        ),
        (
            json!({"machine_id": "leg_press", "taken_at": "yesterday"}),
            "taken_at",
        ),
    ] {
        let detail = assert_error(
            app.add_history(&token, body.clone()).await,
            422,
            "validation_error",
        )
        .await
        .detail;
        assert_eq!(detail[0]["loc"], json!(["body", field]), "{body}");
    }
}

#[tokio::test]
async fn an_entry_for_an_unknown_machine_is_a_404() {
    let (app, token) = signed_in().await;
    assert_error(
        app.add_history(&token, json!({"machine_id": "no_such_machine"}))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_deleted_entry_is_gone() {
    let (app, token) = signed_in().await;
    let id = three_entries(&app, &token).await;
    assert_eq!(
        deleted_count(app.delete_history_entry(&token, &id).await).await,
        1
    );
    let again = app.delete_history_entry(&token, &id).await;
    assert_error(again, 404, "not_found").await;
}

#[tokio::test]
async fn clearing_history_deletes_every_entry_and_says_how_many() {
    let (app, token) = signed_in().await;
    three_entries(&app, &token).await;
    let before = app.get_json_as(HISTORY, &token).await;
    assert!(before["total"].as_u64().unwrap() > 0);
    assert_eq!(
        deleted_count(app.clear_history(&token).await).await,
        before["total"].as_u64().unwrap(),
        "the count says how many entries went"
    );
    assert_eq!(app.get_json_as(HISTORY, &token).await["total"], 0);
}

#[tokio::test]
async fn history_filtered_by_an_id_no_machine_could_have_is_a_422_as_favorites_answer() {
    let (app, token) = signed_in().await;
    let favorite = assert_error(
        app.add_favorite(&token, "Leg Press").await,
        422,
        "validation_error",
    )
    .await
    .detail;
    let history = assert_error(
        app.get_as("/api/v1/history?machine_id=Leg%20Press", &token)
            .await,
        422,
        "validation_error",
    )
    .await
    .detail;
    assert_eq!(history[0]["loc"], json!(["query", "machine_id"]));
    assert_eq!(
        (&history[0]["type"], &history[0]["msg"]),
        (&favorite[0]["type"], &favorite[0]["msg"])
    );
}

#[tokio::test]
async fn a_taken_at_that_is_no_date_time_is_a_422_saying_what_is_expected() {
    let (app, token) = signed_in().await;
    let refused = assert_error(
        app.add_history(
            &token,
            json!({"machine_id": "leg_press", "taken_at": "yesterday"}),
        )
        .await,
        422,
        "validation_error",
    )
    .await
    .detail;
    assert_eq!(refused[0]["loc"], json!(["body", "taken_at"]));
    let msg = refused[0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("RFC 3339") && msg.contains("2026-01-02T03:04:05Z"),
        "{msg}"
    );
}
