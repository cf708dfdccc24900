//! History: the contract (`contract.rs`), isolation between users (`isolation.rs`), and
//! offline batches and safe retries (`retries.rs`).

mod contract;
mod isolation;
mod retries;

use machinemate_api::routes::history::HistoryEntry;
use serde_json::{Value, json};

use crate::helpers::{TestApp, answer};

async fn signed_in() -> (TestApp, String) {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}

/// `POST /api/v1/history`, which must answer 201: the entry as JSON (the contract's
/// tests read it as the app does).
async fn added(app: &TestApp, token: &str, body: Value) -> Value {
    answer(app.add_history(token, body).await, 201).await
}

/// `POST /api/v1/history`, which must answer 201: the entry.
async fn added_entry(app: &TestApp, token: &str, body: Value) -> HistoryEntry {
    answer(app.add_history(token, body).await, 201).await
}

/// Three entries, taken on 2 January (leg press, with everything), 1 February (leg
/// press) and 1 March (treadmill); returns the first one's id.
async fn three_entries(app: &TestApp, token: &str) -> String {
    let entry = added_entry(app, token, json!({"machine_id": "leg_press", "confidence": 0.93, "taken_at": "2026-01-02T03:04:05Z", "photo_uri": "file:///a.jpg"})).await;
    for (machine, taken) in [
        ("treadmill", "2026-03-01T00:00:00Z"),
        ("leg_press", "2026-02-01T00:00:00Z"),
    ] {
        added_entry(
            app,
            token,
            json!({"machine_id": machine, "source": "camera", "taken_at": taken}),
        )
        .await;
    }
    entry.id.to_string()
}

async fn history_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap()
}
