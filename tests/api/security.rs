//! Security headers on every kind of answer, and CORS for the configured origins only
//! (never `*`, never with credentials).

use machinemate_api::config::Settings;
use reqwest::Method;

use crate::helpers::{TestApp, assert_error};

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert!(
        get("strict-transport-security").starts_with("max-age="),
        "{what}"
    );
    assert!(
        get("content-security-policy").contains("frame-ancestors 'none'"),
        "{what}"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;

    let cases = [
        ("catalog", app.get("/api/v1/machines").await),
        ("health", app.get("/health/ready").await),
        ("user data", app.get_as("/api/v1/favorites", &token).await),
        ("401", app.get("/api/v1/favorites").await),
        ("404", app.get("/nowhere").await),
        (
            "405",
            app.client.put(app.url("/health")).send().await.unwrap(),
        ),
        ("422", app.get("/api/v1/machines?page=0").await),
        ("openapi", app.get("/openapi.json").await),
    ];
    for (what, response) in &cases {
        assert_security_headers(response, what);
    }
    // JSON answers allow no content at all.
    let api_csp = cases[2].1.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(api_csp.contains("default-src 'none'"), "{api_csp}");
    // User data, errors and probes are never stored by a cache; the public catalog keeps
    // its own caching.
    for (what, response) in &cases[1..7] {
        assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
    }
    assert!(
        cases[0].1.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public"),
    );
    // The docs page runs Swagger UI's own scripts, but may not be framed either.
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert_security_headers(&docs, "docs");
    assert!(
        !docs.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src")
    );
}

const APP_ORIGIN: &str = "http://localhost:8081";

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/favorites"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_answers_configured_origins_only_and_never_with_credentials() {
    let app = TestApp::builder()
        .auth()
        .env(("CORS_ORIGINS", "http://localhost:8081,exp://localhost:8081"))
        .spawn()
        .await;
    let token = app.sign_in().await;

    // The app's origins: preflight allowed for what the app sends.
    for origin in [APP_ORIGIN, "exp://localhost:8081"] {
        let response = preflight(
            &app,
            origin,
            "PATCH",
            "authorization,content-type,idempotency-key",
        )
        .await;
        assert_eq!(response.status(), 200, "{origin}");
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], origin);
        assert!(!h.contains_key("access-control-allow-credentials"));
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(
            methods.contains("PATCH") && methods.contains("DELETE"),
            "{methods}"
        );
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for header in ["authorization", "content-type", "idempotency-key"] {
            assert!(allowed.contains(header), "{allowed}");
        }
        assert!(
            h["vary"]
                .to_str()
                .unwrap()
                .to_lowercase()
                .contains("origin")
        );
    }

    // Actual requests, successes and errors alike, name the origin and expose the ids.
    for response in [
        app.request(Method::GET, "/api/v1/favorites", &token)
            .header("Origin", APP_ORIGIN)
            .send()
            .await
            .unwrap(),
        app.client
            .get(app.url("/api/v1/favorites"))
            .header("Origin", APP_ORIGIN)
            .send()
            .await
            .unwrap(),
    ] {
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], APP_ORIGIN);
        assert!(!h.contains_key("access-control-allow-credentials"));
        let exposed = h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(exposed.contains("x-trace-id"), "{exposed}");
    }

    // Anything else: look-alikes, `null` (sandboxed pages, file://), other schemes.
    for origin in [
        "https://evil.example",
        "http://localhost:8081.evil.example",
        "http://evil.localhost:8081",
        "https://localhost:8081",
        "http://localhost:8082",
        "null",
        "*",
    ] {
        let response = preflight(&app, origin, "DELETE", "authorization").await;
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-origin"),
            "preflight from {origin}"
        );
        assert!(
            response.status().is_client_error(),
            "{origin}: {}",
            response.status()
        );
        assert_error(response, 400, "bad_request").await;
        let response = app
            .request(Method::GET, "/api/v1/favorites", &token)
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-origin"),
            "GET from {origin}"
        );
    }
}

#[tokio::test]
async fn without_configured_origins_no_origin_is_allowed_and_a_wildcard_is_refused() {
    let app = TestApp::builder().spawn().await;
    let response = preflight(&app, APP_ORIGIN, "GET", "authorization").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let response = app
        .client
        .get(app.url("/api/v1/machines"))
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // `*` (alone or among others) stops start-up: bearer tokens must not be readable by
    // any site.
    for value in ["*", "http://localhost:8081,*", "https://*.example.com"] {
        let error = Settings::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://x@localhost/x".into()),
            "CORS_ORIGINS" => Some(value.into()),
            _ => None,
        })
        .expect_err(value);
        assert_eq!(error.name, "CORS_ORIGINS", "{value}");
    }
}

#[tokio::test]
async fn the_api_explorer_tries_out_every_method_from_the_services_own_origin() {
    let app = TestApp::builder()
        .auth()
        .env(("CORS_ORIGINS", APP_ORIGIN))
        .spawn()
        .await;
    let token = app.sign_in().await;
    // /docs is served from the service's own origin: a browser sends that Origin on
    // every POST, PATCH and DELETE it makes from there ("Try it out").
    let own = app.address.clone();
    let added = app
        .request(Method::POST, "/api/v1/favorites", &token)
        .header("Origin", &own)
        .json(&serde_json::json!({"machine_id": "leg_press"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201, "{}", added.text().await.unwrap());
    let removed = app
        .request(Method::DELETE, "/api/v1/favorites/leg_press", &token)
        .header("Origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    // Another site still gets nothing it may read.
    let foreign = app
        .request(Method::POST, "/api/v1/favorites", &token)
        .header("Origin", "https://evil.example")
        .json(&serde_json::json!({"machine_id": "leg_press"}))
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
