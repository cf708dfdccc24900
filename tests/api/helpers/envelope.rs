//! What every answer of a kind must look like: the error envelope, a DELETE's count, an
//! account deletion's answer; and a metric's value in `/metrics` text.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// An error answer in the service's FastAPI-compatible envelope:
/// `{"detail": ..., "code": "...", "trace_id": "..."}`, with the trace id also in
/// `X-Trace-Id`.
#[derive(Debug)]
pub struct ErrorAnswer {
    pub status: u16,
    pub code: String,
    /// A message, or FastAPI's list of issues (`loc`, `type`, `msg`).
    pub detail: Value,
    pub body: Value,
    pub headers: HeaderMap,
}

impl ErrorAnswer {
    /// Asserts the envelope's shape on an answer's parts: JSON, a string `code`, a
    /// `detail`, and the `trace_id` that `X-Trace-Id` names. Used by `error_answer` and
    /// by `raw_http::Raw::assert_envelope` for answers read off a socket.
    pub fn check(status: u16, headers: HeaderMap, body: &[u8]) -> ErrorAnswer {
        let what = format!("a {status} answer");
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap())
                .unwrap_or_else(|| panic!("{what} has no {name}"))
        };
        let (content_type, trace_header) = (header("content-type"), header("x-trace-id"));
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
        let body: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(body))
        });
        let code = body["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no code in {body}"))
            .to_owned();
        assert!(!body["detail"].is_null(), "{what}: no detail in {body}");
        assert_eq!(body["trace_id"], trace_header, "{what}: {body}");
        ErrorAnswer {
            status,
            code,
            detail: body["detail"].clone(),
            body,
            headers,
        }
    }
}

/// Asserts that `response` is an error in the envelope, whatever its status, and returns
/// it for the caller's own checks (a range of statuses, one of several codes).
pub async fn error_answer(response: reqwest::Response) -> ErrorAnswer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body");
    ErrorAnswer::check(status, headers, &body)
}

/// Asserts that `response` is an error in the envelope with this status and `code`, and
/// returns it (its `detail` for further checks, most often).
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> ErrorAnswer {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let answer = error_answer(response).await;
    assert_eq!(answer.code, code, "{}", answer.body);
    answer
}

/// Asserts a DELETE's answer: 200 with a JSON body `{"deleted": n}` (never an empty 204:
/// the shipped app parses every 2xx body as JSON), and returns `n`.
pub async fn deleted_count(response: reqwest::Response) -> u64 {
    assert_eq!(response.status().as_u16(), 200, "a DELETE answers 200");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("a JSON body");
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "{body}");
    body["deleted"].as_u64().expect("`deleted` is a count")
}

/// Asserts `DELETE /api/v1/users/me`'s answer: 200 with `{"deleted": n,
/// "auth_user_deleted": bool}`; returns both.
pub async fn account_deleted(response: reqwest::Response) -> (u64, bool) {
    assert_eq!(response.status().as_u16(), 200, "the account is deleted");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    (
        body["deleted"].as_u64().expect("`deleted` is a count"),
        body["auth_user_deleted"]
            .as_bool()
            .expect("`auth_user_deleted`"),
    )
}

/// The value of one sample in `/metrics` text, given its exact label set as the
/// exporter writes it (labels sorted by name); 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}
