//! What the model's answers become: catalog machines, or "Unknown".

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use super::{large_jpeg, photo, signed_in};
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::fireworks::{Reply, says};

#[tokio::test]
async fn good_answers_map_onto_the_catalog_by_name_synonym_or_misspelling() {
    let (app, token) = signed_in(TestApp::builder().fireworks_replying(
        vec![
            says("Leg Press", 0.93),
            Reply::Content("Sure! Here it is: {\"machine\": \"butterfly machine\", \"confidence\": 0.88} Enjoy.".into()),
            says("Tredmil", 0.95),
        ],
        says("Unknown", 0.0),
    ))
    .await;
    let body = app.identified(&token, photo(1)).await;
    assert_eq!(
        (body["machine"].as_str(), body["machine_id"].as_str()),
        (Some("Seated Leg Press"), Some("leg_press"))
    );
    assert_eq!((body["confidence"].as_f64().unwrap() * 100.0).round(), 93.0);
    assert_eq!(body["mocked"], false);
    assert!(body["candidates"].as_array().unwrap().len() <= 3);

    let synonym = app.identified(&token, photo(2)).await;
    assert_eq!(synonym["machine_id"], "pec_deck_machine");
    let misspelled = app.identified(&token, photo(3)).await;
    assert_eq!(misspelled["machine_id"], "treadmill");
}

#[tokio::test]
async fn the_model_is_asked_in_the_wire_format_fireworks_expects() {
    let (app, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.93))).await;
    app.identified(&token, photo(1)).await;
    let request = app.fireworks().last_request();
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
}

#[tokio::test]
async fn large_photos_reach_the_model_scaled_with_server_timing() {
    let (app, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.9))).await;
    let response = app.identify(&token, large_jpeg()).await;
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

    let request = app.fireworks().last_request();
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
    let (app, token) = signed_in(TestApp::builder().fireworks_replying(
        vec![
            Reply::Content("{machine: leg press".into()),
            Reply::NoChoices,
            says("Kettlebell rack", 0.9),
        ],
        says("Unknown", 0.0),
    ))
    .await;
    for shade in 1..=3 {
        let body = app.identified(&token, photo(shade)).await;
        assert_eq!(
            (body["machine"].as_str(), body["confidence"].as_f64()),
            (Some("Unknown"), Some(0.0))
        );
        assert!(body["machine_id"].is_null());
        let trace: Value = app
            .trace(&token, body["trace_id"].as_str().unwrap())
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
async fn bad_photos_and_missing_tokens_are_refused() {
    let (app, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.9))).await;
    let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00".to_vec();
    let detail = assert_error(
        app.identify(&token, webp).await,
        415,
        "unsupported_media_type",
    )
    .await
    .detail;
    assert!(detail.as_str().unwrap().contains("WebP"));
    assert_error(
        app.identify(&token, b"GIF89a....".to_vec()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        app.identify(&token, Vec::new()).await,
        422,
        "validation_error",
    )
    .await;
    let no_field = reqwest::multipart::Form::new().text("other", "x");
    let response = app
        .request(Method::POST, "/identify", &token)
        .multipart(no_field)
        .send()
        .await
        .unwrap();
    assert_error(response, 422, "validation_error").await;
    let anonymous = app
        .client
        .post(app.url("/identify"))
        .multipart(
            reqwest::multipart::Form::new()
                .part("image", reqwest::multipart::Part::bytes(photo(1))),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.fireworks().calls(), 0);
}
