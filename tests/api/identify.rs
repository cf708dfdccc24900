//! Identification through a stand-in Fireworks server.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_error, database_url, metric_value, spawn_app_with, spawn_with_settings,
    test_settings,
};
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::fireworks::{FireworksServer, Reply, says};

/// A real PNG photo; `shade` makes distinct photos (distinct cache keys).
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([shade, 90, 160]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

struct Rig {
    app: TestApp,
    auth: AuthServer,
    fireworks: FireworksServer,
    token: String,
}

async fn rig(replies: Vec<Reply>, fallback: Reply, extra: &[(&str, &str)]) -> Rig {
    let fireworks = FireworksServer::start(replies, fallback).await;
    let auth = AuthServer::start(&[&keys().es256]).await;
    let (fw_env, auth_env) = (fireworks.env(), auth.env());
    let mut env: Vec<(&str, &str)> = fw_env
        .iter()
        .chain(auth_env.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    env.extend_from_slice(extra);
    let app = spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    Rig {
        app,
        auth,
        fireworks,
        token,
    }
}

/// `POST /api/v1/identify`, the full answer (machine id, candidates). The bare `/identify`
/// and its strict four-key answer are held to the shipped app in `app_compat.rs`.
async fn identify(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("photo.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    app.request(Method::POST, "/api/v1/identify", token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn identified(app: &TestApp, token: &str, bytes: Vec<u8>) -> Value {
    let response = identify(app, token, bytes).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn good_answers_map_onto_the_catalog_and_are_traced() {
    let r = rig(
        vec![
            says("Leg Press", 0.93),
            Reply::Content("Sure! Here it is: {\"machine\": \"butterfly machine\", \"confidence\": 0.88} Enjoy.".into()),
            says("Tredmil", 0.95),
        ],
        says("Unknown", 0.0),
        &[],
    )
    .await;
    let body = identified(&r.app, &r.token, photo(1)).await;
    assert_eq!(
        (body["machine"].as_str(), body["machine_id"].as_str()),
        (Some("Seated Leg Press"), Some("leg_press"))
    );
    assert_eq!((body["confidence"].as_f64().unwrap() * 100.0).round(), 93.0);
    assert_eq!(body["mocked"], false);
    assert!(body["candidates"].as_array().unwrap().len() <= 3);

    // The wire format Fireworks expects.
    let request = r.fireworks.last_request();
    assert_eq!(request["model"], "accounts/fireworks/models/test-vision");
    assert_eq!(request["response_format"]["type"], "json_object");
    assert!(
        request["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Leg Press")
    );
    let image_url = request["messages"][1]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap();
    assert!(image_url.starts_with("data:image/png;base64,"));

    let synonym = identified(&r.app, &r.token, photo(2)).await;
    assert_eq!(synonym["machine_id"], "pec_deck_machine");
    let misspelled = identified(&r.app, &r.token, photo(3)).await;
    assert_eq!(misspelled["machine_id"], "treadmill");

    let trace_id = body["trace_id"].as_str().unwrap();
    let trace: Value = r
        .app
        .get_as(&format!("/traces/{trace_id}"), &r.token)
        .await
        .json()
        .await
        .unwrap();
    for field in [
        "trace_id",
        "machine",
        "confidence",
        "mocked",
        "raw_text",
        "raw_machine",
        "match_score",
        "unmapped",
        "model",
        "prompt",
        "prompt_variant",
        "error",
        "created_at",
    ] {
        assert!(trace.get(field).is_some(), "trace lacks {field}");
    }
    assert_eq!(trace["raw_machine"], "Leg Press");
    assert_eq!(trace["model"], "accounts/fireworks/models/test-vision");

    let stranger = r.app.sign_up().await;
    let other = r.auth.token(&keys().es256, stranger, json!({}));
    assert_error(
        r.app.get_as(&format!("/traces/{trace_id}"), &other).await,
        404,
        "not_found",
    )
    .await;
    let admin = r.auth.token(
        &keys().es256,
        stranger,
        json!({"app_metadata": {"role": "admin"}}),
    );
    assert_eq!(
        r.app
            .get_as(&format!("/traces/{trace_id}"), &admin)
            .await
            .status(),
        200
    );

    // The user says it was really a hack squat.
    let correction = r
        .app
        .request(
            Method::POST,
            &format!("/api/v1/identifications/{trace_id}/correction"),
            &r.token,
        )
        .json(&json!({"machine_id": "hack_squat_machine", "note": "angled sled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(correction.status(), 201);
    let stored: String =
        sqlx::query_scalar("select machine_id from identification_corrections where trace_id = $1")
            .bind(trace_id)
            .fetch_one(&r.app.db)
            .await
            .unwrap();
    assert_eq!(stored, "hack_squat_machine");
    let foreign = r
        .app
        .request(
            Method::POST,
            &format!("/api/v1/identifications/{trace_id}/correction"),
            &other,
        )
        .json(&json!({"machine_id": "hack_squat_machine"}))
        .send()
        .await
        .unwrap();
    assert_error(foreign, 404, "not_found").await;
}

#[tokio::test]
async fn large_photos_reach_the_model_scaled_with_server_timing() {
    let r = rig(vec![], says("Leg Press", 0.9), &[]).await;
    let big = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 60])
    });
    let mut jpeg = Vec::new();
    big.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let response = identify(&r.app, &r.token, jpeg).await;
    assert_eq!(response.status(), 200);
    // "upstream;dur=1.234, total;dur=5.678": the proxy's own share is their difference.
    let timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_owned();
    let durations: Vec<f64> = timing
        .split(", ")
        .map(|part| part.split_once(";dur=").unwrap().1.parse().unwrap())
        .collect();
    assert!(timing.starts_with("upstream;dur=") && timing.contains(", total;dur="));
    assert!(
        durations[0] > 0.0 && durations[1] >= durations[0],
        "{timing}"
    );

    let request = r.fireworks.last_request();
    let url = request["messages"][1]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap();
    let encoded = url.strip_prefix("data:image/jpeg;base64,").unwrap();
    let sent = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let seen = image::load_from_memory(&sent).unwrap();
    assert_eq!((seen.width(), seen.height()), (1000, 750));
}

#[tokio::test]
async fn unusable_answers_are_unknown_and_recorded() {
    let r = rig(
        vec![
            Reply::Content("{machine: leg press".into()),
            Reply::NoChoices,
            says("Kettlebell rack", 0.9),
        ],
        says("Unknown", 0.0),
        &[],
    )
    .await;
    for shade in 1..=3 {
        let body = identified(&r.app, &r.token, photo(shade)).await;
        assert_eq!(
            (body["machine"].as_str(), body["confidence"].as_f64()),
            (Some("Unknown"), Some(0.0))
        );
        assert!(body["machine_id"].is_null());
        let trace: Value = r
            .app
            .get_as(
                &format!("/traces/{}", body["trace_id"].as_str().unwrap()),
                &r.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(trace["unmapped"], true);
        if shade < 3 {
            assert!(trace["error"].is_string(), "{trace}");
        }
    }
}

#[tokio::test]
async fn rate_limits_are_retried_and_refusals_are_not() {
    let r = rig(
        vec![Reply::Status(429), Reply::Status(503)],
        says("Leg Press", 0.9),
        &[],
    )
    .await;
    let body = identified(&r.app, &r.token, photo(1)).await;
    assert_eq!(body["machine_id"], "leg_press");
    assert_eq!(r.fireworks.calls(), 3, "429 and 503 were retried");

    let refused = rig(vec![], Reply::Status(401), &[]).await;
    let response = identify(&refused.app, &refused.token, photo(1)).await;
    assert_error(response, 503, "service_unavailable").await;
    assert_eq!(refused.fireworks.calls(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_failing_or_hanging_upstream_answers_503_within_the_deadline() {
    for fallback in [Reply::Status(502), Reply::Hang] {
        let r = rig(
            vec![],
            fallback.clone(),
            &[("FIREWORKS_DEADLINE_MS", "1500")],
        )
        .await;
        let started = Instant::now();
        let response = identify(&r.app, &r.token, photo(1)).await;
        let took = started.elapsed();
        assert_error(response, 503, "service_unavailable").await;
        assert!(
            took < Duration::from_millis(2500),
            "{fallback:?} took {took:?}"
        );
        let trace: i64 = sqlx::query_scalar(
            "select count(*) from identification_events where error is not null",
        )
        .fetch_one(&r.app.db)
        .await
        .unwrap();
        assert_eq!(trace, 1, "the failure is recorded");
    }
}

#[tokio::test]
async fn the_breaker_opens_after_failures_and_closes_after_its_cooldown() {
    let r = rig(
        vec![],
        Reply::Status(500),
        &[
            ("FIREWORKS_DEADLINE_MS", "300"),
            ("FIREWORKS_BREAKER_THRESHOLD", "2"),
            ("FIREWORKS_BREAKER_COOLDOWN_SECS", "1"),
        ],
    )
    .await;
    for shade in 1..=2 {
        assert_eq!(identify(&r.app, &r.token, photo(shade)).await.status(), 503);
    }
    let calls = r.fireworks.calls();
    let started = Instant::now();
    assert_eq!(identify(&r.app, &r.token, photo(3)).await.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "an open circuit answers at once"
    );
    assert_eq!(
        r.fireworks.calls(),
        calls,
        "an open circuit does not call upstream"
    );

    r.fireworks.set_fallback(says("Leg Press", 0.9));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = identified(&r.app, &r.token, photo(4)).await;
    assert_eq!(body["machine_id"], "leg_press");
}

#[tokio::test]
async fn the_daily_quota_holds_under_concurrency_and_answers_429() {
    let r = rig(
        vec![],
        says("Leg Press", 0.9),
        &[("IDENTIFY_DAILY_LIMIT", "5")],
    )
    .await;
    let responses = futures_util::future::join_all(
        (0..20u8).map(|shade| identify(&r.app, &r.token, photo(shade))),
    )
    .await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited: Vec<_> = responses.iter().filter(|r| r.status() == 429).collect();
    assert_eq!((ok, limited.len()), (5, 15));
    let retry_after: u64 = limited[0].headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry_after));
    assert_eq!(r.fireworks.calls(), 5);
    // Operators see the refusals (the registry is the process's: at least these 15).
    let metrics = machinemate_api::telemetry::metrics::render(&r.app.app_db());
    assert!(
        metric_value(
            &metrics,
            r#"machinemate_identify_quota_refusals_total{holder="user"}"#
        ) >= 15.0
    );
}

#[tokio::test]
async fn the_same_photo_again_is_answered_from_the_cache_and_still_recorded() {
    let r = rig(vec![], says("Leg Press", 0.9), &[]).await;
    let first = identified(&r.app, &r.token, photo(7)).await;
    let second = identified(&r.app, &r.token, photo(7)).await;
    assert_eq!(first["machine_id"], second["machine_id"]);
    assert_ne!(first["trace_id"], second["trace_id"]);
    assert_eq!(r.fireworks.calls(), 1);
    // Someone else's same photo is theirs to have identified: the cache never tells one
    // user what another sent.
    let someone = r.app.sign_up().await;
    let theirs = r.auth.token(&keys().es256, someone, json!({}));
    identified(&r.app, &theirs, photo(7)).await;
    assert_eq!(r.fireworks.calls(), 2);
    let cached: Vec<bool> =
        sqlx::query_scalar("select cached from identification_events order by created_at")
            .fetch_all(&r.app.db)
            .await
            .unwrap();
    assert_eq!(cached, [false, true, false]);
    // A cached answer is an identification too: it spends the allowance.
    let used: i32 = sqlx::query_scalar(
        "select used from identification_quota where user_id = (select user_id from identification_events order by created_at limit 1)",
    )
    .fetch_one(&r.app.db)
    .await
    .unwrap();
    assert_eq!(used, 2);
    let metrics = machinemate_api::telemetry::metrics::render(&r.app.app_db());
    assert!(
        metric_value(
            &metrics,
            r#"machinemate_cache_lookups_total{cache="identify",result="hit"}"#
        ) >= 1.0
    );
    assert!(
        metric_value(
            &metrics,
            r#"machinemate_identifications_total{model="accounts/fireworks/models/test-vision",outcome="cached",variant="catalog-v1"}"#
        ) >= 1.0
    );
    assert!(
        metric_value(
            &metrics,
            r#"machinemate_identifications_total{model="accounts/fireworks/models/test-vision",outcome="matched",variant="catalog-v1"}"#
        ) >= 1.0
    );
}

#[tokio::test]
async fn traces_survive_a_restart_on_another_instance() {
    let r = rig(vec![], says("Leg Press", 0.9), &[]).await;
    let body = identified(&r.app, &r.token, photo(1)).await;
    let auth_env = r.auth.env();
    let env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let other = spawn_with_settings(
        test_settings(&database_url(&r.app.database_name), &env),
        r.app.database_name.clone(),
    )
    .await;
    let trace = other
        .get_as(
            &format!("/traces/{}", body["trace_id"].as_str().unwrap()),
            &r.token,
        )
        .await;
    assert_eq!(trace.status(), 200);
}

#[tokio::test]
async fn without_a_model_the_answer_is_mocked_unknown() {
    let auth = AuthServer::start(&[&keys().es256]).await;
    let auth_env = auth.env();
    let env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    let body = identified(&app, &token, photo(1)).await;
    assert_eq!(
        (
            body["machine"].as_str(),
            body["confidence"].as_f64(),
            body["mocked"].as_bool()
        ),
        (Some("Unknown"), Some(0.0), Some(true))
    );
    assert_eq!(app.get_json("/health", 200).await["mocking_enabled"], true);
    // Also at the bare /identify the shipped app calls.
    let form =
        reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(photo(2)));
    let response = app
        .request(Method::POST, "/identify", &token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bad_photos_and_missing_tokens_are_refused() {
    let r = rig(vec![], says("Leg Press", 0.9), &[]).await;
    let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00".to_vec();
    let detail = assert_error(
        identify(&r.app, &r.token, webp).await,
        415,
        "unsupported_media_type",
    )
    .await
    .detail;
    assert!(detail.as_str().unwrap().contains("WebP"));
    assert_error(
        identify(&r.app, &r.token, b"GIF89a....".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        identify(&r.app, &r.token, Vec::new()).await,
        422,
        "validation_error",
    )
    .await;
    let no_field = reqwest::multipart::Form::new().text("other", "x");
    let response = r
        .app
        .request(Method::POST, "/identify", &r.token)
        .multipart(no_field)
        .send()
        .await
        .unwrap();
    assert_error(response, 422, "validation_error").await;
    let anonymous = r
        .app
        .client
        .post(r.app.url("/identify"))
        .multipart(
            reqwest::multipart::Form::new()
                .part("image", reqwest::multipart::Part::bytes(photo(1))),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(r.fireworks.calls(), 0);
}

#[tokio::test]
async fn anonymous_callers_when_allowed_are_limited_per_address() {
    let r = rig(
        vec![],
        says("Leg Press", 0.9),
        &[("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "2")],
    )
    .await;
    let send = |shade: u8, forwarded: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo(shade)));
        r.app
            .client
            .post(r.app.url("/identify"))
            .header("X-Forwarded-For", forwarded)
            .multipart(form)
            .send()
    };
    // The last entry is the address Cloud Run saw; earlier ones are the client's word.
    assert_eq!(
        send(1, "10.0.0.1, 203.0.113.7").await.unwrap().status(),
        200
    );
    assert_eq!(
        send(2, "10.0.0.2, 203.0.113.7").await.unwrap().status(),
        200
    );
    let limited = send(3, "10.0.0.3, 203.0.113.7").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        send(4, "203.0.113.8").await.unwrap().status(),
        200,
        "another address has its own allowance"
    );
    // Signed-in users keep their own quota.
    assert_eq!(identify(&r.app, &r.token, photo(5)).await.status(), 200);
    let anonymous: i64 =
        sqlx::query_scalar("select count(*) from identification_events where user_id is null")
            .fetch_one(&r.app.db)
            .await
            .unwrap();
    assert_eq!(anonymous, 3);
}

#[tokio::test]
async fn anonymous_ipv6_callers_share_their_64s_allowance() {
    let r = rig(
        vec![],
        says("Leg Press", 0.9),
        &[("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "2")],
    )
    .await;
    let send = |shade: u8, forwarded: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo(shade)));
        r.app
            .client
            .post(r.app.url("/identify"))
            .header("X-Forwarded-For", forwarded)
            .multipart(form)
            .send()
    };
    // Two addresses of one subscriber's /64: one allowance.
    assert_eq!(send(1, "2001:db8:77:1::a").await.unwrap().status(), 200);
    assert_eq!(
        send(2, "2001:db8:77:1:ffff::b").await.unwrap().status(),
        200
    );
    assert_eq!(
        send(3, "2001:db8:77:1:1234:5678:9abc:def0")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        send(4, "2001:db8:77:2::a").await.unwrap().status(),
        200,
        "the next /64 is another subscriber"
    );
}
