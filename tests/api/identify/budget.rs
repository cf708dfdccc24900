//! The global daily model budget (`IDENTIFY_MODEL_DAILY_CALLS`, `..._TOKENS`): exact
//! across instances, a clear 503 until the next UTC day once spent, nothing else in the
//! app affected; and the stricter allowance of anonymous sign-ins.

use serde_json::json;

use super::{photo, signed_in};
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::fireworks::{Reply, says};

/// Today's row of the budget: (calls, tokens).
async fn spent_today(app: &TestApp) -> (i64, i64) {
    sqlx::query_as(
        "select calls, tokens from identification_model_budget where day = (now() at time zone 'utc')::date",
    )
    .fetch_optional(&app.db)
    .await
    .unwrap()
    .unwrap_or_default()
}

#[tokio::test]
async fn the_model_budget_holds_exactly_across_instances_and_then_answers_503_until_tomorrow() {
    let budget = TestApp::builder()
        .fireworks(says("Leg Press", 0.9))
        .env(("IDENTIFY_MODEL_DAILY_CALLS", "6"))
        .env(("IDENTIFY_DAILY_LIMIT", "4"));
    let (one, _) = signed_in(budget).await;
    let two = one.another_instance().spawn().await;
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(one.sign_in().await);
    }
    // Three users, four distinct photos each, half through each instance, all at once.
    let requests = users.iter().enumerate().flat_map(|(u, token)| {
        let (one, two) = (&one, &two);
        (0..4u8).map(move |p| {
            let app = if p % 2 == 0 { one } else { two };
            app.identify(token, photo(u as u8 * 10 + p))
        })
    });
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(
        ok,
        6,
        "{:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert_eq!(
        one.fireworks().calls(),
        6,
        "the model was asked exactly the budget"
    );
    assert_eq!(spent_today(&one).await.0, 6);
    for refused in answers.into_iter().filter(|r| r.status() != 200) {
        let answer = assert_error(refused, 503, "model_budget_spent").await;
        assert!(
            answer
                .detail
                .as_str()
                .unwrap()
                .contains("model budget is spent")
        );
        let retry_after: u64 = answer.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=86_400).contains(&retry_after));
    }
}

#[tokio::test]
async fn a_spent_model_budget_leaves_the_rest_of_the_app_working_and_allowances_untouched() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(says("Leg Press", 0.9))
            .env(("IDENTIFY_MODEL_DAILY_CALLS", "1"))
            .env(("IDENTIFY_DAILY_LIMIT", "1"))
            .env(("IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT", "1")),
    )
    .await;
    app.identified(&token, photo(1)).await;
    let other = app.sign_in().await;
    assert_error(
        app.identify(&other, photo(2)).await,
        503,
        "model_budget_spent",
    )
    .await;
    // The refused identification never reached the model: the caller's allowance is
    // given back, so tomorrow's budget still finds it whole.
    let used: Vec<i32> = sqlx::query_scalar("select used from identification_quota order by used")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(used, [0, 1]);
    // Everything else is served as usual.
    assert_eq!(app.get("/api/v1/machines?page_size=5").await.status(), 200);
    assert_eq!(app.add_favorite(&other, "leg_press").await.status(), 201);
    let history = app
        .add_history(
            &other,
            json!({"machine_id": "leg_press", "confidence": 0.9}),
        )
        .await;
    assert_eq!(history.status(), 201);
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn the_token_ceiling_refuses_every_call_after_the_one_that_reached_it() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(says("Leg Press", 0.9))
            .env(("IDENTIFY_MODEL_DAILY_TOKENS", "1")),
    )
    .await;
    app.identified(&token, photo(1)).await;
    let (calls, tokens) = spent_today(&app).await;
    let recorded: i64 = sqlx::query_scalar(
        "select (prompt_tokens + completion_tokens)::bigint from identification_events",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (calls, tokens),
        (1, recorded),
        "the call's reported usage is counted"
    );
    assert_error(
        app.identify(&token, photo(2)).await,
        503,
        "model_budget_spent",
    )
    .await;
    assert_eq!(app.fireworks().calls(), 1);
}

#[tokio::test]
async fn calls_refused_by_the_open_circuit_spend_none_of_the_model_budget() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(Reply::Status(503))
            .env(("FIREWORKS_BREAKER_THRESHOLD", "1"))
            .env(("FIREWORKS_BREAKER_COOLDOWN_SECS", "60"))
            .env(("FIREWORKS_DEADLINE_MS", "300")),
    )
    .await;
    for shade in 0..5 {
        assert_error(
            app.identify(&token, photo(shade)).await,
            503,
            "service_unavailable",
        )
        .await;
    }
    // One call reached Fireworks (and may have cost something); the four the open
    // circuit refused sent nothing and spent nothing.
    assert_eq!(spent_today(&app).await.0, 1);
}

#[tokio::test]
async fn anonymous_sign_ins_get_a_stricter_daily_allowance_than_accounts_by_default() {
    let app = TestApp::builder()
        .auth()
        .fireworks(says("Leg Press", 0.9))
        .spawn()
        .await;
    let (guest, _) = app.sign_up_and_in().await;
    let anonymous = app.token_with(
        guest,
        json!({"is_anonymous": true, "email": "", "app_metadata": {"provider": "anonymous", "providers": ["anonymous"]}}),
    );
    let account = app.sign_in().await;
    // The same photo each time: answered from the cache after the first, and still
    // counted against the allowance.
    for _ in 0..10 {
        app.identified(&anonymous, photo(3)).await;
        app.identified(&account, photo(3)).await;
    }
    assert_error(
        app.identify(&anonymous, photo(3)).await,
        429,
        "quota_exceeded",
    )
    .await;
    app.identified(&account, photo(3)).await;
}
