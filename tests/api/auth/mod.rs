//! Token verification against a stand-in Supabase Auth over real HTTP: which tokens are
//! accepted and why others are refused (`tokens.rs`), the signing keys fetched, cached
//! and rotated (`keys.rs`), and the roles that open admin routes (`roles.rs`).

mod keys;
mod local;
mod roles;
mod tokens;

use serde_json::Value;

use crate::helpers::{ME, TestApp, assert_error};

/// Asserts a 401 with `WWW-Authenticate: Bearer` and the given detail.
async fn assert_rejected(app: &TestApp, token: &str, detail: &str) {
    let response = app.get_as(ME, token).await;
    assert_eq!(response.status(), 401, "expected 401 for {detail}");
    let answer = assert_error(response, 401, "unauthorized").await;
    let challenge = answer.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(answer.detail, detail);
    assert!(
        !answer.body.to_string().contains(token),
        "the token leaked into the body"
    );
}

async fn assert_accepted(app: &TestApp, token: &str) -> Value {
    let response = app.get_as(ME, token).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}
