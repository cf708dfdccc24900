//! Token verification against a stand-in Supabase Auth over real HTTP.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with, spawn_app_with_auth};
use crate::stand_ins::auth::{AuthServer, b64, keys};

const ME: &str = "/api/v1/users/me";

/// Asserts a 401 with `WWW-Authenticate: Bearer` and the given detail.
async fn assert_rejected(app: &TestApp, token: &str, detail: &str) {
    let response = app.get_as(ME, token).await;
    assert_eq!(response.status(), 401, "expected 401 for {detail}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["detail"], detail);
    assert_eq!(body["code"], "unauthorized");
    assert!(
        !body.to_string().contains(token),
        "the token leaked into the body"
    );
}

async fn assert_accepted(app: &TestApp, token: &str) -> serde_json::Value {
    let response = app.get_as(ME, token).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn es256_and_rs256_tokens_shaped_like_supabases_are_accepted() {
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let keys = keys();
    for key in [&keys.es256, &keys.rs256] {
        let user = app.sign_up().await;
        let me = assert_accepted(&app, &auth.token(key, user, json!({}))).await;
        assert_eq!(me["id"], user.to_string());
        assert_eq!(me["role"], "authenticated");
    }
    // `aud` may be an array.
    let user = app.sign_up().await;
    let token = auth.token(
        &keys.es256,
        user,
        json!({"aud": ["other", "authenticated"]}),
    );
    assert_accepted(&app, &token).await;
}

#[tokio::test]
async fn each_defective_token_is_refused_with_a_specific_reason() {
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let keys = keys();
    let user = app.sign_up().await;
    let now = chrono::Utc::now().timestamp();
    let token = |changes| auth.token(&keys.es256, user, changes);

    for (changes, detail) in [
        (json!({"exp": now - 120}), "Token has expired"),
        (json!({"nbf": now + 600}), "Token is not valid yet"),
        (
            json!({"iss": "https://evil.example/auth/v1"}),
            "Invalid token issuer",
        ),
        (json!({"aud": "service"}), "Invalid token audience"),
        (json!({"sub": null}), "Token has no subject"),
        (json!({"sub": "not-a-uuid"}), "Invalid token claims"),
        (json!({"iat": now + 3600}), "Token is issued in the future"),
        (json!({"role": "anon"}), "Token role is not allowed"),
    ] {
        assert_rejected(&app, &token(changes), detail).await;
    }

    // alg: none, with and without a kid.
    let payload = b64(auth.claims(user).to_string().as_bytes());
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "kid": keys.es256.kid}),
    ] {
        let unsigned = format!("{}.{}.", b64(header.to_string().as_bytes()), payload);
        assert_rejected(&app, &unsigned, "Unsupported token algorithm").await;
    }

    // HS256 "signed" with the public key, naming the RSA and EC keys' kids.
    for key in [&keys.rs256, &keys.es256] {
        let public = serde_json::to_vec(&key.jwk).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let forged = jsonwebtoken::encode(
            &header,
            &auth.claims(user),
            &EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert_rejected(&app, &forged, "Unsupported token algorithm").await;
    }

    // An RS256 header naming the ES256 key's kid (algorithm confusion between keys).
    let confused = keys.rs256.renamed(&keys.es256.kid).sign(&auth.claims(user));
    assert_rejected(&app, &confused, "Token algorithm does not match its key").await;

    // Unknown kid; and a signature from another key under a published kid.
    let unknown = keys
        .es256_next
        .renamed("never-published")
        .sign(&auth.claims(user));
    assert_rejected(&app, &unknown, "Unknown signing key").await;
    let wrong_key = keys
        .es256_next
        .renamed(&keys.es256.kid)
        .sign(&auth.claims(user));
    assert_rejected(&app, &wrong_key, "Invalid token signature").await;

    // Payload tampered after signing: another user's id.
    let good = token(json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = auth.claims(user);
    claims["sub"] = json!(Uuid::new_v4());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_rejected(&app, &tampered, "Invalid token signature").await;

    // Malformed base64, wrong shape, oversize.
    assert_rejected(&app, "abc.###.def", "Malformed token").await;
    assert_rejected(&app, "not-a-jwt", "Malformed token").await;
    let oversize = format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]);
    assert_rejected(&app, &oversize, "Token is too large").await;

    // The good token still works, so the refusals were about the defects.
    assert_accepted(&app, &good).await;
}

#[tokio::test]
async fn the_authorization_header_must_be_a_bearer_token() {
    let (app, _auth) = spawn_app_with_auth(&[]).await;
    let response = app.get(ME).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["detail"],
        "Not authenticated"
    );
    let response = app
        .client
        .get(app.url(ME))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Authorization header must use the Bearer scheme"
    );
}

#[tokio::test]
async fn legacy_hs256_tokens_need_the_configured_secret() {
    let auth = AuthServer::start(&[&keys().es256]).await;
    let mut env: Vec<(&str, &str)> = vec![(
        "SUPABASE_JWT_SECRET",
        "super-secret-jwt-token-with-at-least-32-characters",
    )];
    let auth_env = auth.env();
    env.extend(auth_env.iter().map(|(k, v)| (*k, v.as_str())));
    let app = spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let claims = auth.claims(user);
    let sign = |secret: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    assert_accepted(
        &app,
        &sign(b"super-secret-jwt-token-with-at-least-32-characters"),
    )
    .await;
    assert_rejected(
        &app,
        &sign(b"a-different-secret"),
        "Invalid token signature",
    )
    .await;
    // Signed with the public key: the secret decides, so the signature fails.
    let public = serde_json::to_vec(&keys().es256.jwk).unwrap();
    assert_rejected(&app, &sign(&public), "Invalid token signature").await;
}

#[tokio::test]
async fn a_new_key_is_accepted_after_one_refetch() {
    let keys = keys();
    let auth = AuthServer::start(&[&keys.es256]).await;
    let auth_env = auth.env();
    let mut env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // No throttle here: the rotation follows the first fetch at once.
    env.push(("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"));
    let app = spawn_app_with(&env).await;
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    assert_eq!(auth.fetches(), 1);

    auth.publish(&[&keys.es256, &keys.es256_next]);
    assert_accepted(&app, &auth.token(&keys.es256_next, user, json!({}))).await;
    assert_eq!(auth.fetches(), 2);
    // Both keys are now cached: no more fetches.
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    assert_accepted(&app, &auth.token(&keys.es256_next, user, json!({}))).await;
    assert_eq!(auth.fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[("SUPABASE_JWKS_REFRESH_MIN_SECS", "60")]).await;
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;
    let before = auth.fetches();
    let claims = auth.claims(user);
    let requests = (0..40).map(|i| {
        let token = keys
            .es256_next
            .renamed(&format!("forged-{i}"))
            .sign(&claims);
        let app = &app;
        async move { app.get_as(ME, &token).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        auth.fetches() - before <= 1,
        "{} refetches",
        auth.fetches() - before
    );
}

#[tokio::test]
async fn a_removed_key_stops_working_after_the_cache_bound() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[
        ("SUPABASE_JWKS_CACHE_SECS", "1"),
        ("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"),
    ])
    .await;
    let user = app.sign_up().await;
    let token = auth.token(&keys.es256, user, json!({}));
    assert_accepted(&app, &token).await;

    auth.publish(&[&keys.rs256]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The same token: its verified-cache entry expired with the key bound too.
    assert_rejected(&app, &token, "Unknown signing key").await;
    assert_accepted(&app, &auth.token(&keys.rs256, user, json!({}))).await;
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_jwks_endpoint_is_down() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[
        ("SUPABASE_JWKS_CACHE_SECS", "1"),
        ("SUPABASE_JWKS_REFRESH_MIN_SECS", "0"),
    ])
    .await;
    let user = app.sign_up().await;
    assert_accepted(&app, &auth.token(&keys.es256, user, json!({}))).await;

    auth.set_down(true);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fetches = auth.fetches();
    // A fresh token (not in the verified cache) while the keys are stale and the
    // endpoint fails: verified with the cached key.
    assert_accepted(
        &app,
        &auth.token(&keys.es256, user, json!({"session_id": Uuid::new_v4()})),
    )
    .await;
    assert!(auth.fetches() > fetches, "a refetch was attempted");
}

#[tokio::test]
async fn no_keys_and_the_endpoint_down_is_a_503_not_a_401() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[]).await;
    auth.set_down(true);
    let user = app.sign_up().await;
    let response = app
        .get_as(ME, &auth.token(&keys.es256, user, json!({})))
        .await;
    let detail = crate::helpers::assert_error(response, 503, "service_unavailable")
        .await
        .detail;
    assert_eq!(
        detail,
        "Authentication is unavailable: signing keys could not be fetched"
    );
}

#[tokio::test]
async fn without_auth_configuration_user_routes_answer_503() {
    let app = crate::helpers::spawn_app().await;
    let response = app.get_as(ME, "a.b.c").await;
    let detail = crate::helpers::assert_error(response, 503, "service_unavailable")
        .await
        .detail;
    assert_eq!(detail, "Authentication is not configured");
}

#[tokio::test]
async fn admin_routes_need_the_admin_or_service_role() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let user = app.sign_up().await;
    let stats = "/api/v1/metrics/stats";

    assert_eq!(app.get(stats).await.status(), 401);
    let plain = auth.token(&keys.es256, user, json!({}));
    let response = app.get_as(stats, &plain).await;
    let detail = crate::helpers::assert_error(response, 403, "forbidden")
        .await
        .detail;
    assert_eq!(detail, "Admin role required");

    // user_metadata is writable by the user, so it grants nothing.
    let sneaky = auth.token(
        &keys.es256,
        user,
        json!({"user_metadata": {"role": "admin"}}),
    );
    assert_eq!(app.get_as(stats, &sneaky).await.status(), 403);

    for changes in [
        json!({"app_metadata": {"provider": "email", "role": "admin"}}),
        json!({"app_metadata": {"roles": ["admin"]}}),
        json!({"role": "service_role"}),
    ] {
        let token = auth.token(&keys.es256, user, changes.clone());
        let response = app.get_as(stats, &token).await;
        assert_eq!(response.status(), 200, "{changes}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["totals"]["machines"].as_i64().unwrap() >= 40);
        assert!(body["totals"]["users"].as_i64().unwrap() >= 1);
        assert!(body["recent_activity"]["identifications_last_7_days"].is_i64());
    }

    let categories = app.get_json("/api/v1/metrics/categories", 200).await;
    assert_eq!(
        categories["total_categories"].as_u64().unwrap() as usize,
        categories["categories"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn anonymous_supabase_users_are_users() {
    let keys = keys();
    let (app, auth) = spawn_app_with_auth(&[]).await;
    let user = app.sign_up().await;
    let token = auth.token(
        &keys.es256,
        user,
        json!({"is_anonymous": true, "email": "", "app_metadata": {"provider": "anonymous"}}),
    );
    let me = assert_accepted(&app, &token).await;
    assert_eq!(me["is_anonymous"], true);
}

#[tokio::test]
async fn an_endless_jwks_answer_is_refused_while_it_is_read_not_after() {
    // A JWKS endpoint that streams chunks for ever, with no length: the service must stop
    // at its size limit, not hold the answer whole (until its timeout) before checking.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {
                    counter.fetch_add(0x10000, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    let auth = AuthServer::start(&[&keys().es256]).await;
    let jwks = format!("http://127.0.0.1:{port}/auth/v1/.well-known/jwks.json");
    let app = spawn_app_with(&[
        ("SUPABASE_JWT_ISSUER", auth.issuer.as_str()),
        ("SUPABASE_JWT_JWKS_URL", jwks.as_str()),
    ])
    .await;
    let token = auth.token(&keys().es256, Uuid::new_v4(), json!({}));
    let response = app.get_as("/api/v1/favorites", &token).await;
    assert_eq!(response.status(), 503, "no signing keys could be had");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let read = sent.load(std::sync::atomic::Ordering::SeqCst);
    // The limit is 256 KiB; socket buffers on both sides hold a few MB more at most.
    assert!(read < 8 * 1024 * 1024, "{read} bytes were read");
}
