//! Hostile input: oversized and deeply nested JSON, huge headers and query strings, slow
//! clients, invalid UTF-8, NUL bytes, path traversal, SQL metacharacters in every string
//! field, filters outside their whitelist and multipart bombs. Each gets a 4xx in the
//! JSON envelope (or is stored literally, for text that is merely unusual), never a 5xx,
//! a panic or a hang, and leaves nothing behind in the data.
//!
//! `bodies.rs`: oversized, nested and multipart bodies; `heads.rs`: huge heads and slow
//! clients; `text.rs`: invalid UTF-8 and NUL; `sql.rs`: SQL metacharacters and filters;
//! `paths.rs`: path traversal.

mod bodies;
mod heads;
mod paths;
mod sql;
mod text;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_answer};

async fn signed_in() -> (TestApp, String) {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}

/// Counts of every user-data table, to show that refused requests wrote nothing.
async fn user_rows(app: &TestApp) -> Value {
    let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from favorites), (select count(*) from history), \
         (select count(*) from media_assets), (select count(*) from idempotency_keys), \
         (select count(*) from identification_events), (select count(*) from machine_audit)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    json!({"favorites": row.0, "history": row.1, "media_assets": row.2,
           "idempotency_keys": row.3, "identification_events": row.4, "machine_audit": row.5})
}

/// Some 4xx in the error envelope; returns the status.
async fn assert_client_error(response: reqwest::Response, what: &str) -> u16 {
    let status = response.status().as_u16();
    assert!((400..500).contains(&status), "{what}: {status}");
    error_answer(response).await.status
}
