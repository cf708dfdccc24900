//! What instances share through the database: quotas, idempotency keys, traces and
//! sync cursors.

use reqwest::Method;
use serde_json::{Value, json};

use super::{cluster, photo};
use crate::helpers::{TestApp, deleted_count};

#[tokio::test]
async fn the_daily_quota_is_exact_across_three_instances() {
    let c = cluster(TestApp::builder().env(("IDENTIFY_DAILY_LIMIT", "6"))).await;
    let (user, token) = c.apps[0].sign_up_and_in().await;
    let responses = futures_util::future::join_all(
        (0..24u8).map(|i| c.at(i.into()).identify_bare(&token, photo(i))),
    )
    .await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!((ok, limited), (6, 18));
    assert_eq!(
        c.apps[0].fireworks().calls(),
        6,
        "refused calls never reach Fireworks"
    );
    let used: i32 = sqlx::query_scalar("select used from identification_quota where user_id = $1")
        .bind(user)
        .fetch_one(&c.apps[0].db)
        .await
        .unwrap();
    assert_eq!(used, 6);
    // Every instance now refuses, however it is asked.
    for i in 0..3 {
        let response = c.at(i).identify_bare(&token, photo(100 + i as u8)).await;
        assert_eq!(response.status(), 429);
    }
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_honoured_on_the_others() {
    let c = cluster(TestApp::builder()).await;
    let (_, token) = c.apps[0].sign_up_and_in().await;
    let body = json!({"machine_id": "leg_press", "confidence": 0.8});
    let post = |i: usize, key: &str| {
        c.at(i)
            .request(Method::POST, "/api/v1/history", &token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    // Used on one instance, replayed by the others.
    let first = post(0, "retry-me").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    for i in [1, 2] {
        let again = post(i, "retry-me").await.unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
    }

    // The same new key on all three at once: one entry, and every answer is that entry
    // or "in progress" (409), never a second entry.
    let racing = futures_util::future::join_all((0..9).map(|i| post(i, "raced"))).await;
    let mut created = Vec::new();
    for response in racing {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created.push(response.json::<Value>().await.unwrap()["id"].clone()),
            409 => {}
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    let rows: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&c.apps[0].db)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    // The key with another request is refused on any instance.
    let other = c
        .at(2)
        .request(Method::POST, "/api/v1/history", &token)
        .header("Idempotency-Key", "retry-me")
        .json(&json!({"machine_id": "treadmill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 422);
}

#[tokio::test]
async fn traces_and_sync_cursors_work_from_any_instance() {
    let c = cluster(TestApp::builder()).await;
    let (_, token) = c.apps[0].sign_up_and_in().await;

    // An identification on one instance is traced and correctable on the others.
    let response = c.at(0).identify_bare(&token, photo(1)).await;
    assert_eq!(response.status(), 200);
    let trace_id = response.json::<Value>().await.unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in [1, 2] {
        let trace: Value = c.at(i).trace(&token, &trace_id).await.json().await.unwrap();
        assert_eq!(trace["machine"], "Seated Leg Press", "instance {i}");
    }
    let correction = c
        .at(2)
        .correct(
            &token,
            &trace_id,
            json!({"machine_id": "hack_squat_machine"}),
        )
        .await;
    assert_eq!(correction.status(), 201);

    // A cursor from one instance continues on another: each change exactly once.
    let sync =
        async |i: usize, cursor: Option<String>| c.at(i).sync(&token, cursor.as_deref()).await;
    let mut cursor = sync(0, None).await.cursor;
    let machines = [
        "leg_press",
        "treadmill",
        "lat_pulldown",
        "chest_press",
        "seated_row",
        "seated_leg_curl",
    ];
    for (i, machine) in machines.iter().enumerate() {
        let response = c.at(i).add_favorite(&token, machine).await;
        assert_eq!(response.status(), 201);
        // Read on the next instance, after a write on this one.
        let changes = sync(i + 1, Some(cursor.clone())).await;
        let upserted: Vec<&str> = changes
            .favorites
            .upserted
            .iter()
            .map(|f| &*f.machine_id)
            .collect();
        assert_eq!(upserted, [*machine], "after a write on instance {i}");
        cursor = changes.cursor;
    }
    let response = c.at(1).delete_favorite(&token, "treadmill").await;
    assert_eq!(deleted_count(response).await, 1);
    let changes = sync(2, Some(cursor.clone())).await;
    assert_eq!(changes.favorites.deleted, ["treadmill"]);
    assert!(changes.favorites.upserted.is_empty());
    // Nothing new: the same cursor again (on yet another instance) is empty.
    let cursor = changes.cursor;
    let changes = sync(0, Some(cursor)).await;
    assert!(changes.favorites.deleted.is_empty());
    assert!(changes.favorites.upserted.is_empty());
}
