//! Bodies too large, too deep, or multipart forms built to exhaust the parser.

use reqwest::Method;
use serde_json::json;

use super::{assert_client_error, signed_in, user_rows};
use crate::helpers::assert_error;
use crate::raw_http::raw;

#[tokio::test]
async fn oversized_json_is_refused_whether_declared_or_chunked() {
    let (app, token) = signed_in().await;
    let before = user_rows(&app).await;

    // 300 KB of notes: over the 256 KiB JSON limit, declared up front.
    let big = json!({"machine_id": "leg_press", "notes": "x".repeat(300_000)});
    let response = app.add_favorite_with(&token, big).await;
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
    assert_eq!(user_rows(&app).await, before);
}

#[tokio::test]
async fn deeply_nested_json_is_refused_and_moderate_nesting_kept() {
    let (app, token) = signed_in().await;
    let before = user_rows(&app).await;

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
    let response = app.update_me(&token, json!({"preferences": nested})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(user_rows(&app).await, before);
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
    let (app, token) = signed_in().await;
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
