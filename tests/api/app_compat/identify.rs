//! `POST /identify` as the app calls it and validates the answer.

use serde_json::Value;

use super::{Thrown, bundled, identify_request};
use crate::helpers::TestApp;
use crate::stand_ins::fireworks::{Reply, says};

/// A small JPEG (the app converts every photo to JPEG on the phone); `n` makes it
/// distinct, so no answer comes from the service's cache of recent photos.
fn jpeg(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(n % 251) as u8, (x * 4) as u8, ((y + n / 251) * 5) as u8])
    });
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

/// The app's strict schema for a 2xx identify answer: exactly `machine` (string, 1 to
/// 200 characters), `confidence` (number, 0 to 1), optional `trace_id` (string),
/// optional `mocked` (boolean), and no other key. A failure here is the app discarding
/// the answer and showing "Unknown machine".
fn app_schema(answer: &Value) -> Result<(), String> {
    let object = answer.as_object().ok_or("not an object")?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "machine" | "confidence" | "trace_id" | "mocked"
        ) {
            return Err(format!("unexpected key {key:?}"));
        }
    }
    let machine = answer["machine"]
        .as_str()
        .ok_or("machine is not a string")?;
    if !(1..=200).contains(&machine.chars().count()) {
        return Err("machine is not 1..200 characters".into());
    }
    let confidence = answer["confidence"]
        .as_f64()
        .ok_or("confidence is not a number")?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(format!("confidence {confidence} is outside 0..1"));
    }
    if object.contains_key("trace_id") && !answer["trace_id"].is_string() {
        return Err("trace_id is not a string".into());
    }
    if object.contains_key("mocked") && !answer["mocked"].is_boolean() {
        return Err("mocked is not a boolean".into());
    }
    Ok(())
}

/// The app with a model answering `replies` in order (then "Unknown"), an allowance of
/// 100 photos, and a signed-in user's token.
async fn with_model(replies: Vec<Reply>) -> (TestApp, String) {
    let app = TestApp::builder()
        .auth()
        .fireworks_replying(replies, says("Unknown", 0.0))
        .env(("IDENTIFY_DAILY_LIMIT", "100"))
        .spawn()
        .await;
    let token = app.sign_in().await;
    (app, token)
}

#[tokio::test]
async fn every_bundled_machine_is_identified_in_the_apps_strict_shape_by_a_name_it_knows() {
    // Protects: the app's main feature. An extra key made every answer "Unknown machine";
    // a name the app does not know shows a generic label instead of the machine's page.
    let bundled = bundled();
    // The model answers each bundled machine's name, in the spellings models use.
    let replies = bundled
        .iter()
        .enumerate()
        .map(|(i, b)| match i % 3 {
            0 => says(&b.name, 0.91),
            1 => says(&b.name.to_lowercase(), 0.91),
            _ => says(&b.name.to_uppercase(), 0.91),
        })
        .collect();
    let (app, token) = with_model(replies).await;
    for (i, b) in bundled.iter().enumerate() {
        let answer = identify_request(&app, &token, &jpeg(i as u32))
            .await
            .unwrap_or_else(|t| panic!("{}: the app would fall back on-device: {t:?}", b.id));
        app_schema(&answer).unwrap_or_else(|why| panic!("{}: {why}: {answer}", b.id));
        // The app finds the machine by name, case-insensitively, among its catalog.
        let found: Vec<_> = bundled
            .iter()
            .filter(|c| {
                c.name
                    .eq_ignore_ascii_case(answer["machine"].as_str().unwrap())
            })
            .collect();
        assert_eq!(found.len(), 1, "{}: {answer}", b.id);
        assert_eq!(found[0].id, b.id, "{answer}");
        assert!(
            answer["confidence"].as_f64().unwrap() >= 0.7,
            "not marked low confidence"
        );
        assert!(answer["trace_id"].is_string() && answer["mocked"] == false);
    }
}

#[tokio::test]
async fn unknown_and_unusable_answers_keep_the_apps_shape() {
    let (app, token) = with_model(vec![
        says("Kettlebell rack", 0.9),
        Reply::Content("{machine: leg press".into()),
    ])
    .await;
    for n in 0..2 {
        let answer = identify_request(&app, &token, &jpeg(1000 + n))
            .await
            .unwrap();
        app_schema(&answer).unwrap_or_else(|why| panic!("{why}: {answer}"));
        assert_eq!(
            (answer["machine"].as_str(), answer["confidence"].as_f64()),
            (Some("Unknown"), Some(0.0))
        );
    }
    // A photo that is not an image: a non-2xx, which the app answers with its on-device flow.
    let refused = identify_request(&app, &token, b"not a photo").await;
    assert!(
        matches!(
            refused,
            Err(Thrown {
                status: 415 | 422,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn without_a_model_the_mocked_answer_keeps_the_apps_shape() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    let answer = identify_request(&app, &token, &jpeg(7)).await.unwrap();
    app_schema(&answer).unwrap_or_else(|why| panic!("{why}: {answer}"));
    assert_eq!(answer["mocked"], true);
}

#[tokio::test]
async fn the_richer_answer_stays_at_api_v1_identify_where_no_shipped_app_looks() {
    let (app, token) = with_model(vec![says("pec deck", 0.88)]).await;
    let answer = app.identified(&token, jpeg(3)).await;
    assert_eq!(
        (answer["machine"].as_str(), answer["machine_id"].as_str()),
        (Some("Pec Deck Fly Machine"), Some("pec_deck_machine"))
    );
    assert_eq!(answer["candidates"][0]["machine_id"], "pec_deck_machine");
    assert!(
        app_schema(&answer).is_err(),
        "this shape is not for the shipped app"
    );
}
