//! Offline batches and retries: each entry recorded once, however often it is sent.

use machinemate_api::routes::history::HistoryEntry;
use machinemate_api::routes::history::write::HistoryBatchResult;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{history_rows, signed_in};
use crate::helpers::{HISTORY, answer, assert_error};

#[tokio::test]
async fn an_offline_batch_is_recorded_once_even_when_uploaded_twice() {
    let (app, token) = signed_in().await;
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let batch = json!({"entries": [
        {"id": ids[0], "machine_id": "leg_press", "taken_at": "2026-05-01T10:00:00Z", "source": "offline"},
        {"id": ids[1], "machine_id": "treadmill", "taken_at": "2026-05-01T11:00:00Z", "source": "offline"},
        {"id": ids[2], "machine_id": "chest_press", "taken_at": "2026-05-01T12:00:00Z", "source": "offline"},
    ]});
    let first = app.add_history_batch(&token, batch.clone()).await;
    let body: HistoryBatchResult = answer(first, 201).await;
    assert_eq!(body.total, 3);
    assert_eq!(body.history[1].id, ids[1], "in the order sent");
    // A repeat without Idempotency-Key: the client ids keep it from duplicating.
    assert_eq!(app.add_history_batch(&token, batch).await.status(), 201);
    assert_eq!(history_rows(&app).await, 3);
}

#[tokio::test]
async fn a_batch_with_one_bad_entry_is_refused_whole_naming_the_entry() {
    let (app, token) = signed_in().await;
    let bad = json!({"entries": [{"machine_id": "leg_press"}, {"machine_id": "nope_machine"}, {"machine_id": "leg_press", "confidence": 2}]});
    let response = app.add_history_batch(&token, bad).await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(
        detail[0]["loc"],
        json!(["body", "entries", 2, "confidence"])
    );
    let unknown = json!({"entries": [{"machine_id": "leg_press"}, {"machine_id": "nope_machine"}]});
    let response = app.add_history_batch(&token, unknown).await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(
        detail[0]["loc"],
        json!(["body", "entries", 1, "machine_id"])
    );
    assert_eq!(
        history_rows(&app).await,
        0,
        "a rejected batch records nothing"
    );
}

#[tokio::test]
async fn an_empty_batch_is_a_422() {
    let (app, token) = signed_in().await;
    let empty = app.add_history_batch(&token, json!({"entries": []})).await;
    assert_error(empty, 422, "validation_error").await;
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_entry() {
    let (app, token) = signed_in().await;
    let send = || {
        app.request(Method::POST, HISTORY, &token)
            .header("Idempotency-Key", "retry-42")
            .json(&json!({"machine_id": "leg_press", "confidence": 0.8}))
            .send()
    };
    let responses = futures_util::future::join_all((0..6).map(|_| send())).await;
    let mut bodies = Vec::new();
    for r in responses {
        let r = r.unwrap();
        assert_eq!(r.status(), 201);
        bodies.push(r.json::<Value>().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every retry got the first response"
    );
    assert_eq!(history_rows(&app).await, 1);
}

#[tokio::test]
async fn the_apps_resent_entry_is_answered_with_the_first_within_the_window() {
    let app = crate::helpers::TestApp::builder()
        .auth()
        .env(("HISTORY_DEDUP_WINDOW_SECS", "2"))
        .spawn()
        .await;
    let token = app.sign_in().await;
    // The shipped app's body: no id, no Idempotency-Key. A retry after a timeout may
    // even race the first attempt.
    let body = json!({"machine_id": "leg_press"});
    let sends = (0..4).map(|_| app.add_history(&token, body.clone()));
    let mut ids = Vec::new();
    for response in futures_util::future::join_all(sends).await {
        ids.push(answer::<HistoryEntry>(response, 201).await.id);
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(history_rows(&app).await, 1);
    // Another machine, or the same one with other values, is another entry.
    for other in [
        json!({"machine_id": "treadmill"}),
        json!({"machine_id": "leg_press", "confidence": 0.5}),
        json!({"machine_id": "leg_press", "taken_at": "2026-05-01T10:00:00Z"}),
    ] {
        assert_eq!(app.add_history(&token, other).await.status(), 201);
    }
    assert_eq!(history_rows(&app).await, 4);
    // Past the window the same entry is new again.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later: HistoryEntry = answer(app.add_history(&token, body).await, 201).await;
    assert_ne!(later.id, ids[0]);
    assert_eq!(history_rows(&app).await, 5);
}
