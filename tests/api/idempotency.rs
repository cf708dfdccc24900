//! What `Idempotency-Key` records may cost: a bounded number of bytes per key whatever
//! the answer's size, a bounded number of keys per user, and rate limits on the history
//! writes that could mint them without end.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{HISTORY, TestApp, assert_error};

/// The most a key's record may hold, in bytes of its text form (key, request hash, what
/// the answer is read back from).
const RECORD_BOUND: usize = 8 * 1024;

async fn signed_in() -> (TestApp, Uuid, String) {
    let app = TestApp::builder().auth().spawn().await;
    let (user, token) = app.sign_up_and_in().await;
    (app, user, token)
}

/// A batch of 100 entries (the most one may hold), each with a client id, long text
/// fields and a machine embedded in the answer.
fn full_batch() -> Value {
    let entries: Vec<Value> = (0..100)
        .map(|i| {
            json!({"id": Uuid::new_v4(), "machine_id": "leg_press", "confidence": 0.5,
                   "source": "s".repeat(50), "photo_uri": format!("file:///{i}/{}", "p".repeat(2000))})
        })
        .collect();
    json!({"entries": entries})
}

async fn record_bytes(app: &TestApp) -> Vec<i32> {
    sqlx::query_scalar("select octet_length(k::text) from idempotency_keys k order by created_at")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idempotency_record_is_small_whatever_the_answer_and_replays_it_whole() {
    let (app, _, token) = signed_in().await;
    let batch = full_batch();
    let send = || {
        app.request(Method::POST, &format!("{HISTORY}/batch"), &token)
            .header("Idempotency-Key", "batch-1")
            .json(&batch)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert!(first.to_string().len() > 300 * 1024, "the answer is large");
    let sizes = record_bytes(&app).await;
    assert_eq!(sizes.len(), 1);
    assert!(
        sizes[0] as usize <= RECORD_BOUND,
        "{} bytes stored",
        sizes[0]
    );
    eprintln!(
        "idempotency: a {} KB answer kept in a {} byte record",
        first.to_string().len() / 1024,
        sizes[0]
    );

    let replayed = send().await.unwrap();
    assert_eq!(replayed.status(), 201);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.unwrap(), first);

    // The same for one entry and for a favorite.
    for (path, body) in [
        (
            HISTORY,
            json!({"machine_id": "treadmill", "photo_uri": "p".repeat(2048)}),
        ),
        (
            "/api/v1/favorites",
            json!({"machine_id": "leg_press", "notes": "n".repeat(1000)}),
        ),
    ] {
        let send = || {
            app.request(Method::POST, path, &token)
                .header("Idempotency-Key", format!("one-{path}"))
                .json(&body)
                .send()
        };
        let first: Value = send().await.unwrap().json().await.unwrap();
        let again = send().await.unwrap();
        assert_eq!(again.status(), 201, "{path}");
        assert_eq!(again.json::<Value>().await.unwrap(), first, "{path}");
    }
    for size in record_bytes(&app).await {
        assert!(size as usize <= RECORD_BOUND, "{size} bytes stored");
    }
}

#[tokio::test]
async fn idempotency_keys_count_toward_a_per_user_limit() {
    let (app, user, token) = signed_in().await;
    let other = app.sign_in().await;
    // The user already holds as many live keys as one may (2,000 in 24 hours).
    sqlx::query(
        "insert into idempotency_keys (user_id, key, method, path, request_hash, status_code) \
         select $1, 'k' || n, 'POST', '/api/v1/history', 'h', 201 from generate_series(1, 2000) n",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    let keyed = |token: &str, key: &str| {
        app.request(Method::POST, HISTORY, token)
            .header("Idempotency-Key", key.to_owned())
            .json(&json!({"machine_id": "leg_press"}))
            .send()
    };
    let refused = keyed(&token, "one-more").await.unwrap();
    let answer = assert_error(refused, 429, "rate_limited").await;
    assert!(answer.headers.contains_key("retry-after"));
    // Nothing was written; without a key the write goes through; others are unaffected.
    assert_eq!(
        app.add_history(&token, json!({"machine_id": "treadmill"}))
            .await
            .status(),
        201
    );
    assert_eq!(keyed(&other, "theirs").await.unwrap().status(), 201);
    let entries: i64 = sqlx::query_scalar("select count(*) from history where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(entries, 1);
    // Keys past their 24 hours do not count.
    sqlx::query(
        "update idempotency_keys set created_at = now() - interval '25 hours' where user_id = $1",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(keyed(&token, "one-more").await.unwrap().status(), 201);
}

#[tokio::test]
async fn single_history_writes_are_rate_limited_like_batches() {
    let (app, user, token) = signed_in().await;
    let entry: Value = app
        .add_history(&token, json!({"machine_id": "leg_press"}))
        .await
        .json()
        .await
        .unwrap();
    // The user has spent this minute's history writes.
    sqlx::query(
        "update rate_limits set used = 100000 where user_id = $1 and bucket = 'history_write'",
    )
    .bind(user)
    .execute(&app.db)
    .await
    .unwrap();
    let add = app
        .add_history(&token, json!({"machine_id": "treadmill"}))
        .await;
    assert!(
        assert_error(add, 429, "rate_limited")
            .await
            .headers
            .contains_key("retry-after")
    );
    let id = entry["id"].as_str().unwrap();
    let delete = app.delete_history_entry(&token, id).await;
    assert_error(delete, 429, "rate_limited").await;
    // Reads are not limited, and the entry is still there.
    assert_eq!(app.history_entry(&token, id).await.status(), 200);
}

#[tokio::test]
async fn expired_idempotency_records_are_removed_without_anyone_reusing_their_keys() {
    let (app, _, token) = signed_in().await;
    for n in 0..3 {
        let response = app
            .request(Method::POST, HISTORY, &token)
            .header("Idempotency-Key", format!("k{n}"))
            .json(&json!({"machine_id": "leg_press", "confidence": f64::from(n) / 10.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    sqlx::query(
        "update idempotency_keys set created_at = now() - interval '25 hours' where key <> 'k2'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    // The hourly housekeeping job, not a repeat of the same key, removes them.
    assert_eq!(app.maintain(&[]).await["idempotency_keys"], 2);
    let left: Vec<String> = sqlx::query_scalar("select key from idempotency_keys")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(left, ["k2"]);
}
