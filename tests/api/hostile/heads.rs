//! Request heads too large, and clients too slow to finish their requests.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{signed_in, user_rows};
use crate::helpers::{TestApp, assert_error};
use crate::raw_http::{raw, read_response};

#[tokio::test]
async fn huge_headers_are_refused() {
    // With the Auth stand-in: a bearer token is checked, not refused as unconfigured.
    let app = TestApp::builder().auth().spawn().await;

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

    // A huge bearer token is a 401, not a crash or a slow verification.
    let response = app.get_as("/api/v1/favorites", &"e".repeat(16_000)).await;
    assert_error(response, 401, "unauthorized").await;
    // The service is fine afterwards.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn huge_query_strings_and_values_are_refused() {
    let (app, token) = signed_in().await;

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
    // The service is fine afterwards.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn slow_clients_are_cut_off_without_holding_up_others() {
    let (app, token) = signed_in().await;
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
