//! What bounds the calls to the model: each caller's daily allowance (users, and
//! anonymous callers by address) and the cache of photos already seen.

use super::{photo, signed_in};
use crate::helpers::{TestApp, metric_value};
use crate::stand_ins::fireworks::says;

#[tokio::test]
async fn the_daily_quota_holds_under_concurrency_and_answers_429() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(says("Leg Press", 0.9))
            .env(("IDENTIFY_DAILY_LIMIT", "5")),
    )
    .await;
    let responses =
        futures_util::future::join_all((0..20u8).map(|shade| app.identify(&token, photo(shade))))
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
    assert_eq!(app.fireworks().calls(), 5);
    // Operators see the refusals (the registry is the process's: at least these 15).
    let metrics = machinemate_api::telemetry::metrics::render(app.app_db().pool());
    assert!(
        metric_value(
            &metrics,
            r#"machinemate_identify_quota_refusals_total{holder="user"}"#
        ) >= 15.0
    );
}

#[tokio::test]
async fn the_same_photo_again_is_answered_from_the_cache_and_still_recorded() {
    let (app, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.9))).await;
    let first = app.identified(&token, photo(7)).await;
    let second = app.identified(&token, photo(7)).await;
    assert_eq!(first["machine_id"], second["machine_id"]);
    assert_ne!(first["trace_id"], second["trace_id"]);
    assert_eq!(app.fireworks().calls(), 1);
    // Someone else's same photo is theirs to have identified: the cache never tells one
    // user what another sent.
    let theirs = app.sign_in().await;
    app.identified(&theirs, photo(7)).await;
    assert_eq!(app.fireworks().calls(), 2);
    let cached: Vec<bool> =
        sqlx::query_scalar("select cached from identification_events order by created_at")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(cached, [false, true, false]);
    // A cached answer is an identification too: it spends the allowance.
    let used: i32 = sqlx::query_scalar(
        "select used from identification_quota where user_id = (select user_id from identification_events order by created_at limit 1)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(used, 2);
    let metrics = machinemate_api::telemetry::metrics::render(app.app_db().pool());
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

/// An app letting anonymous callers identify two photos a day per address.
async fn open_to_two_anonymous_photos() -> (TestApp, String) {
    signed_in(
        TestApp::builder()
            .fireworks(says("Leg Press", 0.9))
            .env(("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "2")),
    )
    .await
}

/// `POST /identify` without a token, from the address `forwarded` names.
async fn anonymous(app: &TestApp, shade: u8, forwarded: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .part("image", reqwest::multipart::Part::bytes(photo(shade)));
    app.client
        .post(app.url("/identify"))
        .header("X-Forwarded-For", forwarded)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_callers_when_allowed_are_limited_per_address() {
    let (app, token) = open_to_two_anonymous_photos().await;
    // The last entry is the address Cloud Run saw; earlier ones are the client's word.
    assert_eq!(
        anonymous(&app, 1, "10.0.0.1, 203.0.113.7").await.status(),
        200
    );
    assert_eq!(
        anonymous(&app, 2, "10.0.0.2, 203.0.113.7").await.status(),
        200
    );
    let limited = anonymous(&app, 3, "10.0.0.3, 203.0.113.7").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        anonymous(&app, 4, "203.0.113.8").await.status(),
        200,
        "another address has its own allowance"
    );
    // Signed-in users keep their own quota.
    assert_eq!(app.identify(&token, photo(5)).await.status(), 200);
    let anonymous: i64 =
        sqlx::query_scalar("select count(*) from identification_events where user_id is null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(anonymous, 3);
}

#[tokio::test]
async fn anonymous_ipv6_callers_share_their_64s_allowance() {
    let (app, _) = open_to_two_anonymous_photos().await;
    // Two addresses of one subscriber's /64: one allowance.
    assert_eq!(anonymous(&app, 1, "2001:db8:77:1::a").await.status(), 200);
    assert_eq!(
        anonymous(&app, 2, "2001:db8:77:1:ffff::b").await.status(),
        200
    );
    assert_eq!(
        anonymous(&app, 3, "2001:db8:77:1:1234:5678:9abc:def0")
            .await
            .status(),
        429
    );
    assert_eq!(
        anonymous(&app, 4, "2001:db8:77:2::a").await.status(),
        200,
        "the next /64 is another subscriber"
    );
}

#[tokio::test]
async fn spoofed_forwarded_for_lines_do_not_give_an_anonymous_caller_more_allowance() {
    let (app, _) = open_to_two_anonymous_photos().await;
    // The caller sends X-Forwarded-For lines of its own; Cloud Run's front end appends
    // the address it saw (here on a line of its own, as a proxy may): only that counts.
    let mut statuses = Vec::new();
    for shade in 1..=6u8 {
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo(shade)));
        let mut headers = reqwest::header::HeaderMap::new();
        for value in [format!("198.51.100.{shade}"), "203.0.113.50".to_owned()] {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let response = app
            .client
            .post(app.url("/identify"))
            .headers(headers)
            .multipart(form)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);
}
