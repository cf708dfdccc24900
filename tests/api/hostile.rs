//! Hostile input: oversized and deeply nested JSON, huge headers and query strings, slow
//! clients, invalid UTF-8, NUL bytes, path traversal, SQL metacharacters in every string
//! field, filters outside their whitelist and multipart bombs. Each gets a 4xx in the
//! JSON envelope (or is stored literally, for text that is merely unusual), never a 5xx,
//! a panic or a hang, and leaves nothing behind in the data.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, deleted_count, spawn_app_with_auth};
use crate::raw_http::{raw, read_response};
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::storage::StorageServer;

async fn signed_in() -> (TestApp, AuthServer, Uuid, String) {
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    (app, auth, user, token)
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

/// Some 4xx in the error envelope (`code`, `detail`, `trace_id` as in `X-Trace-Id`);
/// returns the status.
async fn assert_client_error(response: reqwest::Response, what: &str) -> u16 {
    let status = response.status().as_u16();
    let trace = response
        .headers()
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or_default();
    assert!((400..500).contains(&status), "{what}: {status} {body}");
    assert!(
        body["code"].is_string() && !body["detail"].is_null(),
        "{what}: {body}"
    );
    assert_eq!(body["trace_id"], trace.as_str(), "{what}");
    status
}

#[tokio::test]
async fn oversized_and_deeply_nested_json_is_refused() {
    let (app, _auth, _, token) = signed_in().await;
    let before = user_rows(&app).await;

    // 300 KB of notes: over the 256 KiB JSON limit, declared up front.
    let big = json!({"machine_id": "leg_press", "notes": "x".repeat(300_000)});
    let response = app
        .request(Method::POST, "/api/v1/favorites", &token)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;

    // The same without Content-Length (chunked): counted while reading.
    let mut request = format!(
        "POST /api/v1/history HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    for _ in 0..40 {
        request.push_str(&format!("2710\r\n{}\r\n", " ".repeat(10_000)));
    }
    request.push_str("0\r\n\r\n");
    raw(&app, request.as_bytes())
        .await
        .assert_envelope(413, "payload_too_large");

    // A declared size far beyond the limit is refused before any byte is read.
    let request = format!(
        "POST /api/v1/favorites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{{"
    );
    raw(&app, request.as_bytes())
        .await
        .assert_envelope(413, "payload_too_large");

    // Nesting far deeper than the parser's recursion limit, in a typed field and in a
    // free-form JSON object (preferences).
    for (path, method, body) in [
        (
            "/api/v1/favorites",
            Method::POST,
            format!(
                r#"{{"machine_id": {}"leg_press"{}}}"#,
                "[".repeat(50_000),
                "]".repeat(50_000)
            ),
        ),
        (
            "/api/v1/users/me",
            Method::PATCH,
            format!(
                r#"{{"preferences": {}1{}}}"#,
                r#"{"a":"#.repeat(40_000),
                "}".repeat(40_000)
            ),
        ),
    ] {
        let response = app
            .request(method, path, &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        // The typed field refuses the array at once; the free-form object hits the
        // parser's recursion limit (128) long before the stack is at risk.
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert!(
            matches!(
                detail[0]["type"].as_str(),
                Some("type_error" | "json_invalid")
            ),
            "{detail}"
        );
    }

    // Within the limits, a nested preferences object is accepted as it is.
    let mut nested = json!(1);
    for _ in 0..50 {
        nested = json!({ "a": nested });
    }
    let response = app
        .request(Method::PATCH, "/api/v1/users/me", &token)
        .json(&json!({"preferences": nested}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(user_rows(&app).await, before);
}

#[tokio::test]
async fn huge_headers_and_query_strings_are_refused() {
    let (app, _auth, _, token) = signed_in().await;

    // A 64 KB header: over the service's 32 KiB, answered in the envelope.
    let huge = format!(
        "GET /api/v1/machines HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    raw(&app, huge.as_bytes())
        .await
        .assert_envelope(431, "header_fields_too_large");
    // Many headers summing to over 32 KiB.
    let many: String = (0..90)
        .map(|i| format!("X-Junk-{i}: {}\r\n", "b".repeat(400)))
        .collect();
    raw(
        &app,
        format!("GET /api/v1/machines HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    )
    .await
    .assert_envelope(431, "header_fields_too_large");
    // Beyond what actix buffers (128 KiB) or parses (96 headers), the HTTP layer refuses
    // the head before a request exists: no envelope is possible there, but the answer
    // is still a 4xx and the connection is closed.
    let enormous = format!(
        "GET /api/v1/machines HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    assert_eq!(raw(&app, enormous.as_bytes()).await.status, 431);
    let too_many: String = (0..200).map(|i| format!("X-Junk-{i}: a\r\n")).collect();
    let answer = raw(
        &app,
        format!("GET /api/v1/machines HTTP/1.1\r\nHost: x\r\n{too_many}\r\n").as_bytes(),
    )
    .await;
    assert!(matches!(answer.status, 400 | 431), "{}", answer.head);

    // A 20 KB query string is over the service's URI limit (16 KiB); past 64 KiB the
    // HTTP layer refuses the request line itself (400, no request exists).
    raw(
        &app,
        format!(
            "GET /api/v1/machines?search={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(20 * 1024)
        )
        .as_bytes(),
    )
    .await
    .assert_envelope(414, "uri_too_long");
    let answer = raw(
        &app,
        format!(
            "GET /api/v1/machines?search={} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(70 * 1024)
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.head);

    // Long values under the head limit meet each parameter's own bound.
    let response = app
        .get(&format!("/api/v1/machines?search={}", "a".repeat(10_000)))
        .await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["type"], "string_too_long");
    let tags: String = (0..500).map(|i| format!("tags=t{i}&")).collect();
    let response = app.get(&format!("/api/v1/machines?{tags}")).await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["loc"], json!(["query", "tags"]));
    let response = app
        .get_as(
            &format!("/api/v1/history?machine_id={}", "m".repeat(5_000)),
            &token,
        )
        .await;
    assert_error(response, 422, "validation_error").await;
    // A huge bearer token is a 401, not a crash or a slow verification.
    let response = app.get_as("/api/v1/favorites", &"e".repeat(16_000)).await;
    assert_error(response, 401, "unauthorized").await;
    // The service is fine afterwards.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn slow_clients_are_cut_off_without_holding_up_others() {
    let (app, _auth, _, token) = signed_in().await;
    let addr = app.address.trim_start_matches("http://").to_owned();

    // Each slow client's answer is awaited from the moment it starts.
    let answered = |mut stream: tokio::net::tcp::OwnedReadHalf| {
        let started = Instant::now();
        tokio::spawn(async move { (read_response(&mut stream).await, started.elapsed()) })
    };

    // Slowloris: a request head that never ends, one header line every second.
    let (reader, mut writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    writer
        .write_all(b"GET /api/v1/machines HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let head = answered(reader);
    tokio::spawn(async move {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let line = format!("X-Slow-{i}: a\r\n");
            if writer.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });

    // Bodies that stop arriving (the declared bytes never all come): on a database
    // route, cut at the request deadline (1.8 s); on the photo upload, which may take
    // longer, once nothing has arrived for 10 s.
    let stalled_body = |path: &str, content_type: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: 5000\r\n\r\n{{\"machine_id\""
        )
    };
    let (reader, mut json_writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    json_writer
        .write_all(stalled_body("/api/v1/favorites", "application/json").as_bytes())
        .await
        .unwrap();
    let slow_json = answered(reader);
    let (reader, mut photo_writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    photo_writer
        .write_all(stalled_body("/identify", "multipart/form-data; boundary=b").as_bytes())
        .await
        .unwrap();
    photo_writer
        .write_all(b"\r\n--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\xff\xd8")
        .await
        .unwrap();
    let slow_photo = answered(reader);

    // Meanwhile everyone else is served at once.
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(app.get("/api/v1/machines/leg_press").await.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    // The slow head is answered 408 (by actix, before any request exists) at its 5 s
    // deadline, though it kept sending.
    let (answer, took) = head.await.unwrap();
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(7)).contains(&took),
        "{took:?}"
    );

    // The stalled bodies are given up on with a 408 in the envelope.
    let (answer, took) = slow_json.await.unwrap();
    answer.assert_envelope(408, "request_timeout");
    assert!(
        (Duration::from_millis(1700)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    let (answer, took) = slow_photo.await.unwrap();
    answer.assert_envelope(408, "request_timeout");
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(13)).contains(&took),
        "{took:?}"
    );
    assert_eq!(user_rows(&app).await["favorites"], 0);
    assert_eq!(user_rows(&app).await["identification_events"], 0);
}

#[tokio::test]
async fn invalid_utf8_and_nul_bytes_are_refused_everywhere() {
    let (app, _auth, _, token) = signed_in().await;
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
        let response = app
            .request(Method::POST, path, &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = assert_client_error(response, &format!("{path} {body}")).await;
        assert!(matches!(status, 404 | 422), "{path} {body}: {status}");
    }
    for body in [
        json!({"display_name": nul}),
        json!({"avatar_url": format!("https://x.example/{nul}")}),
        json!({"preferences": {"theme": nul}}),
        json!({"preferences": {nul: 1}}),
    ] {
        let response = app
            .request(Method::PATCH, "/api/v1/users/me", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
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
    let (app, auth, _, token) = signed_in().await;
    let machines_before: i64 = sqlx::query_scalar("select count(*) from machines")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Someone else's rows must be untouched by anything below.
    let other = app.sign_up().await;
    let other_token = auth.token(&keys().es256, other, json!({}));
    let response = app
        .request(Method::POST, "/api/v1/favorites", &other_token)
        .json(&json!({"machine_id": "treadmill", "notes": "mine"}))
        .send()
        .await
        .unwrap();
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
        let response = app
            .request(Method::POST, "/api/v1/favorites", &token)
            .json(&json!({"machine_id": nasty}))
            .send()
            .await
            .unwrap();
        assert_error(response, 404, "not_found").await;

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
            .request(Method::POST, "/api/v1/history", &token)
            .json(&json!({"machine_id": machine, "source": nasty, "photo_uri": nasty}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{nasty}");
        let entry: Value = response.json().await.unwrap();
        assert_eq!(
            (entry["source"].as_str(), entry["photo_uri"].as_str()),
            (Some(nasty.trim()), Some(*nasty))
        );
        let response = app
            .request(Method::PATCH, "/api/v1/users/me", &token)
            .json(&json!({"display_name": nasty, "preferences": {*nasty: nasty}}))
            .send()
            .await
            .unwrap();
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
        let response = app
            .get_as(
                &format!("/api/v1/history?machine_id={}", urlencode(nasty)),
                &token,
            )
            .await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["total"],
            0,
            "{nasty}"
        );
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
    let others: Value = app
        .get_as("/api/v1/favorites", &other_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(others["total"], 1);
    assert_eq!(others["favorites"][0]["notes"], "mine");
    let history: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(history, NASTY.len() as i64);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn path_traversal_never_leaves_the_callers_folder() {
    let storage = StorageServer::start().await;
    let auth = AuthServer::start(&[&keys().es256]).await;
    let env: Vec<(&str, String)> = storage.env().into_iter().chain(auth.env()).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = crate::helpers::spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    let victim = Uuid::new_v4();
    for folder in [user, victim] {
        std::fs::create_dir_all(storage.root.join(format!("user-uploads/{folder}"))).unwrap();
        std::fs::write(
            storage
                .root
                .join(format!("user-uploads/{folder}/photo.jpg")),
            b"\xff\xd8\xff",
        )
        .unwrap();
    }
    for path in [
        format!("{user}/../{victim}/photo.jpg"),
        format!("{user}/%2e%2e/{victim}/photo.jpg"),
        format!("{user}/%2E%2E%2F{victim}%2Fphoto.jpg"),
        format!("{user}%2F..%2F{victim}%2Fphoto.jpg"),
        format!("{user}/./photo.jpg"),
        format!("{user}//photo.jpg"),
        format!("{user}/..\\{victim}\\photo.jpg"),
        format!("{user}/..%5C{victim}%5Cphoto.jpg"),
        format!("{user}/photo.jpg%00.png"),
        format!("{user}/"),
        format!("{user}"),
        format!("/{victim}/photo.jpg"),
        format!("{victim}/photo.jpg"),
        format!("{user}x/photo.jpg"),
        "../../etc/passwd".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
    ] {
        // Sent as raw bytes: an HTTP client would normalise the dot segments away.
        let answer = raw(
            &app,
            format!(
                "DELETE /api/v1/media/delete/{path} HTTP/1.1\r\nHost: x\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 403, "{path}");
        answer.assert_envelope(403, "forbidden");
    }
    assert!(storage.object_exists("user-uploads", &format!("{victim}/photo.jpg")));
    assert!(storage.object_exists("user-uploads", &format!("{user}/photo.jpg")));
    // The caller's own file, named plainly, is deleted.
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/media/delete/{user}/photo.jpg"),
            &token,
        )
        .send()
        .await
        .unwrap();
    deleted_count(response).await;
    assert!(!storage.object_exists("user-uploads", &format!("{user}/photo.jpg")));
    assert!(storage.object_exists("user-uploads", &format!("{victim}/photo.jpg")));
}

fn multipart_body(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, data) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"p.jpg\"\r\n\
                 Content-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn multipart_bombs_are_refused() {
    let (app, _auth, _, token) = signed_in().await;
    let before = user_rows(&app).await;
    let send = |content_type: String, body: Vec<u8>| {
        app.request(Method::POST, "/identify", &token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let b = "XyZ123";
    let ct = format!("multipart/form-data; boundary={b}");

    // Thousands of small fields before the image.
    let junk: Vec<(String, Vec<u8>)> = (0..5_000)
        .map(|i| (format!("f{i}"), vec![b'a'; 10]))
        .collect();
    let parts: Vec<(&str, &[u8])> = junk
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let response = send(ct.clone(), multipart_body(b, &parts)).await.unwrap();
    let detail = assert_error(response, 413, "payload_too_large")
        .await
        .detail;
    assert!(detail.as_str().unwrap().contains("parts"), "{detail}");

    // Other fields that together exceed the size limit.
    let filler = vec![b'a'; 1024 * 1024];
    let parts: Vec<(&str, &[u8])> = (0..12).map(|_| ("other", filler.as_slice())).collect();
    let response = send(ct.clone(), multipart_body(b, &parts)).await.unwrap();
    assert_error(response, 413, "payload_too_large").await;

    // The image itself over the limit.
    let big = vec![0xFFu8; 11 * 1024 * 1024];
    let response = send(ct.clone(), multipart_body(b, &[("image", &big)]))
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;

    // A part head that never ends, a missing boundary, a broken body, a nested multipart.
    let endless_head = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{}\r\n",
        "a".repeat(100_000)
    );
    let response = send(ct.clone(), endless_head.into_bytes()).await.unwrap();
    assert_client_error(response, "an endless part head").await;
    let response = send(
        "multipart/form-data".into(),
        multipart_body(b, &[("image", b"x")]),
    )
    .await
    .unwrap();
    assert_error(response, 400, "bad_request").await;
    let response = send(ct.clone(), b"--XyZ123\r\nno headers here".to_vec())
        .await
        .unwrap();
    let status = assert_client_error(response, "a broken body").await;
    assert!(matches!(status, 400 | 422), "{status}");
    let inner = multipart_body("inner", &[("image", b"\xff\xd8\xff")]);
    let response = send(ct.clone(), multipart_body(b, &[("image", &inner)]))
        .await
        .unwrap();
    let status = assert_client_error(response, "a nested multipart").await;
    assert!(matches!(status, 415 | 422), "{status}");
    // A boundary far longer than RFC 2046 allows.
    let long = "b".repeat(10_000);
    let response = send(
        format!("multipart/form-data; boundary={long}"),
        multipart_body(&long, &[("image", b"not an image")]),
    )
    .await
    .unwrap();
    let status = assert_client_error(response, "a 10,000-character boundary").await;
    assert!(matches!(status, 400 | 415), "{status}");

    // (`/api/v1/media/upload` reads its form with the same `read_field`.)
    assert_eq!(user_rows(&app).await, before);
    assert_eq!(app.get("/health/live").await.status(), 200);
}
