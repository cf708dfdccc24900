//! Which tokens are users: Supabase's, signed with a published key, and nothing else.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

use super::{assert_accepted, assert_rejected};
use crate::helpers::{ME, TestApp, assert_error};
use crate::stand_ins::auth::{b64, keys};

#[tokio::test]
async fn es256_and_rs256_tokens_shaped_like_supabases_are_accepted() {
    let app = TestApp::builder().auth().spawn().await;
    let auth = app.auth();
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
    let app = TestApp::builder().auth().spawn().await;
    let auth = app.auth();
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
    let app = TestApp::builder().auth().spawn().await;
    let response = app.get(ME).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(
        assert_error(response, 401, "unauthorized").await.detail,
        "Not authenticated"
    );
    let response = app
        .client
        .get(app.url(ME))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(response, 401, "unauthorized").await.detail,
        "Authorization header must use the Bearer scheme"
    );
}

#[tokio::test]
async fn legacy_hs256_tokens_need_the_configured_secret() {
    let app = TestApp::builder()
        .auth_publishing(&[&keys().es256])
        .env((
            "SUPABASE_JWT_SECRET",
            "super-secret-jwt-token-with-at-least-32-characters",
        ))
        .spawn()
        .await;
    let auth = app.auth();
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
async fn anonymous_supabase_users_are_users() {
    let keys = keys();
    let app = TestApp::builder().auth().spawn().await;
    let auth = app.auth();
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
async fn a_token_with_critical_header_parameters_is_refused() {
    let app = TestApp::builder().auth().spawn().await;
    let auth = app.auth();
    let key = &keys().es256;
    let user = app.sign_up().await;
    // RFC 7515 4.1.11: a recipient that does not understand every extension `crit` names
    // must reject the token; this service understands none. Signed by a published key.
    for crit in [
        vec!["exp-policy".to_owned()],
        vec!["b64".to_owned()],
        vec![],
    ] {
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        header.crit = Some(crit);
        let token = jsonwebtoken::encode(&header, &auth.claims(user), &key.encoding).unwrap();
        assert_rejected(&app, &token, "Token has critical header parameters").await;
    }
    assert_accepted(&app, &auth.token(key, user, json!({}))).await;
}
