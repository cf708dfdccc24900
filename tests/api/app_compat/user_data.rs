//! Favorites, history and deletions as the app makes them, and its 401-then-retry.

use serde_json::{Value, json};

use super::{Thrown, api_request, bundled, ok};
use crate::helpers::TestApp;

async fn signed_in() -> (TestApp, String) {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}

#[tokio::test]
async fn every_bundled_machine_can_be_favorited_and_logged_under_the_apps_id() {
    // Protects: favoriting a bundled machine (a 404 rolled the star back) and the
    // favorites and history the app saved on the phone under the bundled ids.
    let (app, token) = signed_in().await;
    let token = Some(token.as_str());
    let bundled = bundled();
    for b in &bundled {
        let body = json!({"machine_id": b.id});
        ok(&app, "POST", "/api/v1/favorites", token, Some(&body)).await;
        // The app reads only the status: 409 means "already a favorite".
        let again = api_request(&app, "POST", "/api/v1/favorites", token, Some(&body)).await;
        assert!(
            matches!(again, Err(Thrown { status: 409, .. })),
            "{}: {again:?}",
            b.id
        );
        ok(&app, "POST", "/api/v1/history", token, Some(&body)).await;
    }
    let favorites = ok(&app, "GET", "/api/v1/favorites", token, None).await;
    let mut ids: Vec<&str> = favorites["favorites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["machine_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = bundled.iter().map(|b| b.id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let history = ok(&app, "GET", "/api/v1/history?page_size=100", token, None).await;
    assert_eq!(history["total"], 39);
}

#[tokio::test]
async fn history_items_carry_what_the_app_reads_with_a_strict_utc_taken_at() {
    // Protects: the history screen, which validates `taken_at` as ISO 8601 ending in `Z`
    // (zod's `datetime()`: no offsets) and keys rows by `id`.
    let (app, token) = signed_in().await;
    let token = Some(token.as_str());
    let strict = regex_lite::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$").unwrap();
    for body in [
        json!({"machine_id": "leg_press"}),
        json!({"machine_id": "treadmill", "taken_at": "2026-05-01T10:15:00+02:00"}),
        json!({"machine_id": "rowing_machine", "taken_at": "2026-05-02T08:00:00.123456789-07:00", "confidence": 0.87, "source": "backend_api"}),
        json!({"machine_id": "seated_leg_curl", "source": "manual"}),
    ] {
        ok(&app, "POST", "/api/v1/history", token, Some(&body)).await;
    }
    let page = ok(&app, "GET", "/api/v1/history", token, None).await;
    let items = page["history"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for item in items {
        assert!(
            uuid::Uuid::parse_str(item["id"].as_str().unwrap()).is_ok(),
            "{item}"
        );
        assert!(item["machine_id"].is_string(), "{item}");
        for field in ["taken_at", "created_at"] {
            let value = item[field].as_str().unwrap();
            assert!(
                strict.is_match(value),
                "{field} {value:?} fails the app's check"
            );
        }
    }
    let taken: Vec<&str> = items
        .iter()
        .map(|i| i["taken_at"].as_str().unwrap())
        .collect();
    assert!(taken.contains(&"2026-05-01T08:15:00Z"), "{taken:?}");
}

#[tokio::test]
async fn every_delete_the_app_makes_answers_2xx_with_a_json_body() {
    // Protects: the app's rollback. It parses every 2xx body as JSON, so an empty 204
    // threw and an unfavorited machine reappeared although the server had deleted it.
    let (app, token) = signed_in().await;
    let token = Some(token.as_str());
    for id in ["leg_press", "treadmill", "elliptical_machine"] {
        let body = json!({"machine_id": id});
        ok(&app, "POST", "/api/v1/favorites", token, Some(&body)).await;
        ok(&app, "POST", "/api/v1/history", token, Some(&body)).await;
    }
    let entry = ok(&app, "GET", "/api/v1/history", token, None).await["history"][0]["id"].clone();
    let one_entry = format!("/api/v1/history/{}", entry.as_str().unwrap());
    let cases: [(&str, Value); 6] = [
        ("/api/v1/favorites/leg_press", json!({"deleted": 1})),
        ("/api/v1/favorites", json!({"deleted": 2})),
        ("/api/v1/favorites", json!({"deleted": 0})),
        (&one_entry, json!({"deleted": 1})),
        ("/api/v1/history", json!({"deleted": 2})),
        ("/api/v1/history", json!({"deleted": 0})),
    ];
    for (path, expected) in cases {
        assert_eq!(
            ok(&app, "DELETE", path, token, None).await,
            expected,
            "DELETE {path}"
        );
    }
    let favorites = ok(&app, "GET", "/api/v1/favorites", token, None).await;
    assert_eq!(favorites["total"], 0, "the deletions happened");
    // A favorite already gone is a 404: a non-2xx the app reports as failed.
    let gone = api_request(&app, "DELETE", "/api/v1/favorites/leg_press", token, None).await;
    assert!(matches!(gone, Err(Thrown { status: 404, .. })), "{gone:?}");
}

#[tokio::test]
async fn a_401_makes_the_app_refresh_once_and_its_repeat_succeeds_without_a_duplicate() {
    // Protects: the app's session refresh. It repeats a request once after a 401 with a
    // fresh token; the refused first attempt must have written nothing.
    let app = TestApp::builder().auth().spawn().await;
    let user = app.sign_up().await;
    let expired = app.token_with(user, json!({"exp": chrono::Utc::now().timestamp() - 120}));
    let body = json!({"machine_id": "lat_pulldown"});
    let first = api_request(
        &app,
        "POST",
        "/api/v1/favorites",
        Some(&expired),
        Some(&body),
    )
    .await;
    let Err(Thrown { status: 401, text }) = first else {
        panic!("an expired token is a 401: {first:?}");
    };
    assert!(!text.is_empty(), "the app reads the 401's text");
    let refreshed = app.token_for(user);
    ok(
        &app,
        "POST",
        "/api/v1/favorites",
        Some(&refreshed),
        Some(&body),
    )
    .await;
    let list = ok(&app, "GET", "/api/v1/favorites", Some(&refreshed), None).await;
    assert_eq!(
        list["total"], 1,
        "one favorite, not two, and no 409 on the repeat"
    );
    for path in ["/api/v1/history", "/api/v1/favorites"] {
        let stale = api_request(&app, "GET", path, Some(&expired), None).await;
        assert!(
            matches!(stale, Err(Thrown { status: 401, .. })),
            "{path}: {stale:?}"
        );
        ok(&app, "GET", path, Some(&refreshed), None).await;
    }
}
