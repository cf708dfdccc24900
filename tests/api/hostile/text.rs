//! Text the database cannot store or the service cannot read: invalid UTF-8 and NUL,
//! in bodies, headers, paths and queries.

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_client_error, signed_in, user_rows};
use crate::helpers::assert_error;
use crate::raw_http::raw;

#[tokio::test]
async fn invalid_utf8_and_nul_are_refused_in_bodies_headers_and_paths() {
    let (app, token) = signed_in().await;
    let before = user_rows(&app).await;
    let auth = format!("Authorization: Bearer {token}\r\n");

    // Invalid UTF-8 inside a JSON string.
    let mut request = format!(
        "POST /api/v1/favorites HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
    )
    .into_bytes();
    let body = b"{\"machine_id\": \"leg_press\", \"notes\": \"\xff\xfe\xc0\"}";
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    raw(&app, &request)
        .await
        .assert_envelope(422, "validation_error");

    // Invalid UTF-8 in a header the service reads.
    let mut request =
        b"GET /api/v1/favorites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n"
            .to_vec();
    raw(&app, &request)
        .await
        .assert_envelope(401, "unauthorized");
    request = format!("POST /api/v1/favorites HTTP/1.1\r\nHost: x\r\n{auth}Idempotency-Key: ")
        .into_bytes();
    request.extend_from_slice(
        b"\xc3\x28\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n",
    );
    request.extend_from_slice(br#"{"machine_id":"leg_press"}"#);
    raw(&app, &request)
        .await
        .assert_envelope(422, "validation_error");

    // Percent-encoded invalid UTF-8 and NUL in paths.
    for path in [
        "/api/v1/favorites/%ff%fe",
        "/api/v1/favorites/leg%00press",
        "/api/v1/history/%00",
        "/api/v1/media/delete/%ff/x.jpg",
        "/traces/%00%ff",
    ] {
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            let response = app
                .request(method.clone(), path, &token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_client_error(response, &format!("{method} {path}")).await;
        }
    }
    for path in [
        "/api/v1/favorites/leg%00press",
        "/api/v1/machines/leg%00press",
        "/api/v1/machines/%ff",
    ] {
        let status = assert_client_error(app.get_as(path, &token).await, path).await;
        assert!(matches!(status, 400 | 404 | 422), "{path}: {status}");
    }

    assert_eq!(user_rows(&app).await, before);
}

#[tokio::test]
async fn nul_characters_are_refused_in_every_string_field_and_filter() {
    let (app, token) = signed_in().await;
    let before = user_rows(&app).await;

    // NUL characters (valid JSON, but not storable as Postgres text) in every string field.
    let nul = "a\u{0}b";
    let posts = [
        (
            "/api/v1/favorites",
            json!({"machine_id": "leg_press", "notes": nul}),
        ),
        ("/api/v1/favorites", json!({"machine_id": nul})),
        (
            "/api/v1/history",
            json!({"machine_id": "leg_press", "source": nul}),
        ),
        (
            "/api/v1/history",
            json!({"machine_id": "leg_press", "photo_uri": nul}),
        ),
        (
            "/api/v1/history/batch",
            json!({"entries": [{"machine_id": "leg_press", "photo_uri": nul}]}),
        ),
        (
            "/api/v1/media/upload-url",
            json!({"content_type": nul, "size_bytes": 10, "asset_type": "user_photo"}),
        ),
    ];
    for (path, body) in posts {
        let response = app.post_json(path, &token, &body).await;
        let status = assert_client_error(response, &format!("{path} {body}")).await;
        assert!(matches!(status, 404 | 422), "{path} {body}: {status}");
    }
    for body in [
        json!({"display_name": nul}),
        json!({"avatar_url": format!("https://x.example/{nul}")}),
        json!({"preferences": {"theme": nul}}),
        json!({"preferences": {nul: 1}}),
    ] {
        let response = app.update_me(&token, body).await;
        assert_error(response, 422, "validation_error").await;
    }
    for query in [
        "search=a%00b",
        "tags=a%00",
        "category=Arms%00",
        "difficulty=%00",
    ] {
        let response = app.get(&format!("/api/v1/machines?{query}")).await;
        assert_error(response, 422, "validation_error").await;
    }
    let response = app
        .get_as("/api/v1/history?machine_id=leg%00press", &token)
        .await;
    assert_error(response, 422, "validation_error").await;
    assert_eq!(user_rows(&app).await, before);
    let me: Value = app
        .get_as("/api/v1/users/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["preferences"], json!({}));
    assert_eq!(me["display_name"], Value::Null);
}
