//! Strings that break naively built SQL, in every field and filter: plain text here.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_client_error, signed_in};
use crate::helpers::assert_error;

/// Strings that break naively built SQL, LIKE patterns, JSON paths or shell commands.
const NASTY: [&str; 8] = [
    "'; drop table favorites; --",
    "\" or \"1\"=\"1",
    "%' or '1'='1",
    "_%\\",
    "$$; select pg_sleep(5); $$",
    "x'); delete from history where ('1'='1",
    "\\'; truncate machines cascade; --",
    "Robert'); DROP TABLE users;--",
];

#[tokio::test]
async fn sql_metacharacters_in_every_string_field_are_plain_text() {
    let (app, token) = signed_in().await;
    let machines_before: i64 = sqlx::query_scalar("select count(*) from machines")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Someone else's rows must be untouched by anything below.
    let other_token = app.sign_in().await;
    let response = app
        .add_favorite_with(
            &other_token,
            json!({"machine_id": "treadmill", "notes": "mine"}),
        )
        .await;
    assert_eq!(response.status(), 201);

    for (i, nasty) in NASTY.iter().enumerate() {
        // Ids: never found, never matched as patterns.
        for path in [
            format!("/api/v1/machines/{}", urlencode(nasty)),
            format!("/api/v1/favorites/{}", urlencode(nasty)),
            format!("/api/v1/history/{}", urlencode(nasty)),
            format!("/traces/{}", urlencode(nasty)),
            format!("/api/v1/media/{}/url", urlencode(nasty)),
        ] {
            let status = assert_client_error(app.get_as(&path, &token).await, &path).await;
            assert!(matches!(status, 404 | 422), "{path}: {status}");
        }
        // An id the documented pattern refuses is refused as the field it is.
        let response = app.add_favorite(&token, nasty).await;
        let refused = assert_error(response, 422, "validation_error").await;
        assert_eq!(
            refused.detail[0]["loc"],
            json!(["body", "machine_id"]),
            "{}",
            refused.body
        );

        // Text fields store the string exactly.
        let machine = [
            "leg_press",
            "lat_pulldown",
            "chest_press",
            "seated_row",
            "treadmill",
            "leg_extension_machine",
            "seated_leg_curl",
            "pec_deck_machine",
        ][i];
        let response = app
            .request(Method::POST, "/api/v1/favorites", &token)
            .header(
                "Idempotency-Key",
                format!("k{i}-{}", nasty.replace(' ', "_")),
            )
            .json(&json!({"machine_id": machine, "notes": nasty}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{nasty}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["notes"], *nasty);
        let response = app
            .add_history(
                &token,
                json!({"machine_id": machine, "source": nasty, "photo_uri": nasty}),
            )
            .await;
        assert_eq!(response.status(), 201, "{nasty}");
        let entry: Value = response.json().await.unwrap();
        assert_eq!(
            (entry["source"].as_str(), entry["photo_uri"].as_str()),
            (Some(nasty.trim()), Some(*nasty))
        );
        let response = app
            .update_me(
                &token,
                json!({"display_name": nasty, "preferences": {*nasty: nasty}}),
            )
            .await;
        assert_eq!(response.status(), 200, "{nasty}");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["display_name"], nasty.trim());
        assert_eq!(me["preferences"][*nasty], *nasty);

        // Filters: search is text, whitelisted filters refuse anything else.
        let response = app
            .get(&format!("/api/v1/machines?search={}", urlencode(nasty)))
            .await;
        assert_eq!(response.status(), 200, "{nasty}");
        let found: Value = response.json().await.unwrap();
        assert!(
            found["total"].as_i64().unwrap() < machines_before,
            "{nasty} matched everything"
        );
        for param in ["category", "difficulty", "is_active", "page", "page_size"] {
            let response = app
                .get(&format!("/api/v1/machines?{param}={}", urlencode(nasty)))
                .await;
            let detail = assert_error(response, 422, "validation_error").await.detail;
            assert_eq!(detail[0]["loc"], json!(["query", param]));
        }
        let response = app
            .get(&format!("/api/v1/machines?tags={}", urlencode(nasty)))
            .await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["total"],
            0,
            "{nasty}"
        );
        // No machine id looks like this: refused, as in a favorite's body.
        let response = app
            .get_as(
                &format!("/api/v1/history?machine_id={}", urlencode(nasty)),
                &token,
            )
            .await;
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert_eq!(detail[0]["loc"], json!(["query", "machine_id"]), "{nasty}");
        let response = app
            .get_as(&format!("/api/v1/sync?since={}", urlencode(nasty)), &token)
            .await;
        assert_error(response, 422, "validation_error").await;
    }

    // Sort and order parameters do not exist: they change nothing (as in FastAPI, where
    // unknown query parameters are ignored), so nothing reaches an ORDER BY.
    let plain: Value = app.get_json("/api/v1/machines?page_size=100", 200).await;
    for query in [
        "sort=name;drop table machines",
        "order_by=(select pg_sleep(5))",
        "sort=-created_at&order=desc",
    ] {
        let started = Instant::now();
        let body: Value = app
            .get_json(
                &format!(
                    "/api/v1/machines?page_size=100&{}",
                    query.replace(' ', "%20")
                ),
                200,
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(body["machines"], plain["machines"], "{query}");
    }

    // Everything is still there, and the other user's data is untouched.
    let machines_after: i64 = sqlx::query_scalar("select count(*) from machines")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(machines_after, machines_before);
    let others = app.favorites(&other_token).await;
    assert_eq!(others.total, 1);
    assert_eq!(others.favorites[0].notes.as_deref(), Some("mine"));
    let history: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(history, NASTY.len() as i64);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
