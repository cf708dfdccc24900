//! Fireworks failing: retried when that can help, a fast 503 when it cannot, and a
//! breaker that stops calling it for a while.

use std::time::{Duration, Instant};

use super::{photo, signed_in};
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::fireworks::{Reply, says};

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let (app, token) = signed_in(TestApp::builder().fireworks_replying(
        vec![Reply::Status(429), Reply::Status(503)],
        says("Leg Press", 0.9),
    ))
    .await;
    let body = app.identified(&token, photo(1)).await;
    assert_eq!(body["machine_id"], "leg_press");
    assert_eq!(app.fireworks().calls(), 3, "429 and 503 were retried");
}

#[tokio::test]
async fn a_refusal_by_the_model_provider_is_a_503_and_never_retried() {
    let (app, token) = signed_in(TestApp::builder().fireworks(Reply::Status(401))).await;
    let response = app.identify(&token, photo(1)).await;
    assert_error(response, 503, "service_unavailable").await;
    assert_eq!(app.fireworks().calls(), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_failing_or_hanging_upstream_answers_503_within_the_deadline() {
    for fallback in [Reply::Status(502), Reply::Hang] {
        let (app, token) = signed_in(
            TestApp::builder()
                .fireworks(fallback.clone())
                .env(("FIREWORKS_DEADLINE_MS", "1500")),
        )
        .await;
        let started = Instant::now();
        let response = app.identify(&token, photo(1)).await;
        let took = started.elapsed();
        assert_error(response, 503, "service_unavailable").await;
        assert!(
            took < Duration::from_millis(2500),
            "{fallback:?} took {took:?}"
        );
        let trace: i64 = sqlx::query_scalar(
            "select count(*) from identification_events where error is not null",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(trace, 1, "the failure is recorded");
    }
}

#[tokio::test]
async fn the_breaker_opens_after_failures_and_closes_after_its_cooldown() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(Reply::Status(500))
            .env(("FIREWORKS_DEADLINE_MS", "300"))
            .env(("FIREWORKS_BREAKER_THRESHOLD", "2"))
            .env(("FIREWORKS_BREAKER_COOLDOWN_SECS", "1")),
    )
    .await;
    for shade in 1..=2 {
        assert_eq!(app.identify(&token, photo(shade)).await.status(), 503);
    }
    let calls = app.fireworks().calls();
    let started = Instant::now();
    assert_eq!(app.identify(&token, photo(3)).await.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "an open circuit answers at once"
    );
    assert_eq!(
        app.fireworks().calls(),
        calls,
        "an open circuit does not call upstream"
    );

    app.fireworks().set_fallback(says("Leg Press", 0.9));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = app.identified(&token, photo(4)).await;
    assert_eq!(body["machine_id"], "leg_press");
}
