//! Every identification is traced: what the model said and how it was read, for the
//! owner and admins only; the owner may correct it; traces outlive the instance.

use serde_json::{Value, json};

use super::{photo, signed_in};
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::fireworks::says;

/// An app whose model says "Leg Press", a user, and the trace id of their first photo.
async fn identified_once() -> (TestApp, String, String) {
    let (app, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.93))).await;
    let body = app.identified(&token, photo(1)).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    (app, token, trace_id)
}

#[tokio::test]
async fn an_identification_is_traced_with_what_the_model_said() {
    let (app, token, trace_id) = identified_once().await;
    let trace: Value = app.trace(&token, &trace_id).await.json().await.unwrap();
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
}

#[tokio::test]
async fn a_trace_is_its_owners_and_admins_alone() {
    let (app, _, trace_id) = identified_once().await;
    let stranger = app.sign_up().await;
    let other = app.token_for(stranger);
    assert_error(app.trace(&other, &trace_id).await, 404, "not_found").await;
    let admin = app.token_with(stranger, json!({"app_metadata": {"role": "admin"}}));
    assert_eq!(app.trace(&admin, &trace_id).await.status(), 200);
}

#[tokio::test]
async fn the_owner_corrects_an_identification_and_nobody_else_can() {
    let (app, token, trace_id) = identified_once().await;
    // The user says it was really a hack squat.
    let correction = app
        .correct(
            &token,
            &trace_id,
            json!({"machine_id": "hack_squat_machine", "note": "angled sled"}),
        )
        .await;
    assert_eq!(correction.status(), 201);
    let stored: String =
        sqlx::query_scalar("select machine_id from identification_corrections where trace_id = $1")
            .bind(&trace_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, "hack_squat_machine");
    let other = app.sign_in().await;
    let foreign = app
        .correct(
            &other,
            &trace_id,
            json!({"machine_id": "hack_squat_machine"}),
        )
        .await;
    assert_error(foreign, 404, "not_found").await;
}

#[tokio::test]
async fn traces_survive_a_restart_on_another_instance() {
    let (app, token, trace_id) = identified_once().await;
    let other = app.another_instance().spawn().await;
    assert_eq!(other.trace(&token, &trace_id).await.status(), 200);
}
