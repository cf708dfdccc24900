//! History: the contract, isolation, offline batches and safe retries.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, deleted_count, spawn_app_with_auth};
use crate::stand_ins::auth::keys;

const HISTORY: &str = "/api/v1/history";

async fn two_users() -> (TestApp, String, String) {
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let (a, b) = (app.sign_up().await, app.sign_up().await);
    (
        app,
        auth.token(&keys().es256, a, json!({})),
        auth.token(&keys().es256, b, json!({})),
    )
}

async fn add(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, HISTORY, token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn history_follows_the_contract() {
    let (app, token, _) = two_users().await;
    let response = add(&app, &token, json!({"machine_id": "leg_press", "confidence": 0.93, "taken_at": "2026-01-02T03:04:05Z", "photo_uri": "file:///a.jpg"})).await;
    assert_eq!(response.status(), 201);
    let entry: Value = response.json().await.unwrap();
    assert_eq!(entry["machine_id"], "leg_press");
    assert_eq!(entry["source"], "backend_api");
    assert_eq!(entry["confidence"], 0.93);
    assert_eq!(entry["taken_at"], "2026-01-02T03:04:05Z");
    assert_eq!(entry["photo_uri"], "file:///a.jpg");
    assert_eq!(entry["machine"]["name"], "Seated Leg Press");
    let id = entry["id"].as_str().unwrap().to_owned();

    for (machine, taken) in [
        ("treadmill", "2026-03-01T00:00:00Z"),
        ("leg_press", "2026-02-01T00:00:00Z"),
    ] {
        let r = add(
            &app,
            &token,
            json!({"machine_id": machine, "source": "camera", "taken_at": taken}),
        )
        .await;
        assert_eq!(r.status(), 201);
    }
    let page: Value = app.get_as(HISTORY, &token).await.json().await.unwrap();
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

    let filtered: Value = app
        .get_as(
            &format!("{HISTORY}?machine_id=leg_press&page_size=1&page=2"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["total"], 2);
    assert_eq!(filtered["history"][0]["id"], id.as_str());
    let past_end: Value = app
        .get_as(&format!("{HISTORY}?page=9"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            past_end["total"].as_i64(),
            past_end["history"].as_array().unwrap().len()
        ),
        (Some(3), 0)
    );
    assert_error(
        app.get_as(&format!("{HISTORY}?page_size=101"), &token)
            .await,
        422,
        "validation_error",
    )
    .await;

    let one: Value = app
        .get_as(&format!("{HISTORY}/{id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], id.as_str());
    assert_error(
        app.get_as(&format!("{HISTORY}/{}", Uuid::new_v4()), &token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get_as(&format!("{HISTORY}/not-a-uuid"), &token).await,
        422,
        "validation_error",
    )
    .await;

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
            add(&app, &token, body.clone()).await,
            422,
            "validation_error",
        )
        .await
        .detail;
        assert_eq!(detail[0]["loc"], json!(["body", field]), "{body}");
    }
    assert_error(
        add(&app, &token, json!({"machine_id": "no_such_machine"})).await,
        404,
        "not_found",
    )
    .await;

    let deleted = app
        .request(Method::DELETE, &format!("{HISTORY}/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted_count(deleted).await, 1);
    let again = app
        .request(Method::DELETE, &format!("{HISTORY}/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_error(again, 404, "not_found").await;
    let before: Value = app.get_as(HISTORY, &token).await.json().await.unwrap();
    assert!(before["total"].as_u64().unwrap() > 0);
    assert_eq!(
        deleted_count(
            app.request(Method::DELETE, HISTORY, &token)
                .send()
                .await
                .unwrap()
        )
        .await,
        before["total"].as_u64().unwrap(),
        "the count says how many entries went"
    );
    let page: Value = app.get_as(HISTORY, &token).await.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

#[tokio::test]
async fn another_user_never_sees_or_deletes_my_history() {
    let (app, alice, bob) = two_users().await;
    let entry: Value = add(&app, &alice, json!({"machine_id": "leg_press"}))
        .await
        .json()
        .await
        .unwrap();
    let id = entry["id"].as_str().unwrap();
    let page: Value = app.get_as(HISTORY, &bob).await.json().await.unwrap();
    assert_eq!(page["total"], 0);
    assert_error(
        app.get_as(&format!("{HISTORY}/{id}"), &bob).await,
        404,
        "not_found",
    )
    .await;
    let delete = app
        .request(Method::DELETE, &format!("{HISTORY}/{id}"), &bob)
        .send()
        .await
        .unwrap();
    assert_error(delete, 404, "not_found").await;
    assert_eq!(
        deleted_count(
            app.request(Method::DELETE, HISTORY, &bob)
                .send()
                .await
                .unwrap()
        )
        .await,
        0,
        "Bob has none, and Alice's are not his to clear"
    );
    // Reusing Alice's entry id as a client id does not reach her entry.
    let reuse = add(&app, &bob, json!({"id": id, "machine_id": "treadmill"})).await;
    assert_error(reuse, 409, "conflict").await;
    let mine: Value = app
        .get_as(&format!("{HISTORY}/{id}"), &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["machine_id"], "leg_press");
}

#[tokio::test]
async fn an_offline_batch_is_recorded_once_even_when_uploaded_twice() {
    let (app, token, _) = two_users().await;
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let batch = json!({"entries": [
        {"id": ids[0], "machine_id": "leg_press", "taken_at": "2026-05-01T10:00:00Z", "source": "offline"},
        {"id": ids[1], "machine_id": "treadmill", "taken_at": "2026-05-01T11:00:00Z", "source": "offline"},
        {"id": ids[2], "machine_id": "chest_press", "taken_at": "2026-05-01T12:00:00Z", "source": "offline"},
    ]});
    let post = || {
        app.request(Method::POST, &format!("{HISTORY}/batch"), &token)
            .json(&batch)
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["total"], 3);
    assert_eq!(
        body["history"][1]["id"],
        ids[1].to_string(),
        "in the order sent"
    );
    // A repeat without Idempotency-Key: the client ids keep it from duplicating.
    assert_eq!(post().await.unwrap().status(), 201);
    let count: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 3);

    let bad = json!({"entries": [{"machine_id": "leg_press"}, {"machine_id": "nope_machine"}, {"machine_id": "leg_press", "confidence": 2}]});
    let response = app
        .request(Method::POST, &format!("{HISTORY}/batch"), &token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(
        detail[0]["loc"],
        json!(["body", "entries", 2, "confidence"])
    );
    let response = app
        .request(Method::POST, &format!("{HISTORY}/batch"), &token)
        .json(&json!({"entries": [{"machine_id": "leg_press"}, {"machine_id": "nope_machine"}]}))
        .send()
        .await
        .unwrap();
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(
        detail[0]["loc"],
        json!(["body", "entries", 1, "machine_id"])
    );
    let count: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 3, "a rejected batch records nothing");
    let empty = app
        .request(Method::POST, &format!("{HISTORY}/batch"), &token)
        .json(&json!({"entries": []}))
        .send()
        .await
        .unwrap();
    assert_error(empty, 422, "validation_error").await;
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_entry() {
    let (app, token, _) = two_users().await;
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
    let count: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}
