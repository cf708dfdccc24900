//! Identification in development without a Fireworks key: the local stand-in answers a
//! catalog machine chosen by the photo, after every step production takes; and a
//! deployment that turns identification off says so.

use reqwest::Method;

use super::{large_jpeg, photo, signed_in};
use crate::helpers::{TestApp, assert_error};
use crate::stand_ins::fireworks::says;

/// A JPEG large enough to be decoded and scaled, cut off halfway.
fn truncated_jpeg() -> Vec<u8> {
    let mut jpeg = large_jpeg();
    jpeg.truncate(jpeg.len() / 2);
    jpeg
}

#[tokio::test]
async fn without_a_model_in_development_the_stand_in_answers_a_catalog_machine_the_same_for_the_same_photo()
 {
    let (app, token) = signed_in(TestApp::builder()).await;
    let first = app.identified(&token, photo(1)).await;
    assert_eq!(first["mocked"], true, "{first}");
    let machine_id = first["machine_id"].as_str().expect("a catalog machine");
    let machine = app
        .get_json(&format!("/api/v1/machines/{machine_id}"), 200)
        .await;
    assert_eq!(first["machine"], machine["name"]);
    let confidence = first["confidence"].as_f64().unwrap();
    assert!((0.6..1.0).contains(&confidence), "{confidence}");

    // The same photo, from someone else too, is the same machine; photos differ.
    let other = app.sign_in().await;
    let again = app.identified(&other, photo(1)).await;
    assert_eq!(
        (&again["machine_id"], &again["confidence"]),
        (&first["machine_id"], &first["confidence"])
    );
    let machines: std::collections::HashSet<String> =
        futures_util::future::join_all((2..=9).map(|shade| app.identified(&token, photo(shade))))
            .await
            .into_iter()
            .map(|answer| answer["machine_id"].as_str().unwrap().to_owned())
            .collect();
    assert!(machines.len() > 1, "{machines:?}");

    assert_eq!(app.get_json("/health", 200).await["mocking_enabled"], true);
    // The bare /identify the shipped app calls answers the same machine, in its shape.
    let form =
        reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(photo(1)));
    let bare: serde_json::Value = app
        .request(Method::POST, "/identify", &token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bare["machine"], first["machine"]);
}

#[tokio::test]
async fn the_stand_in_refuses_a_truncated_jpeg_as_production_does() {
    let (production, token) = signed_in(TestApp::builder().fireworks(says("Leg Press", 0.9))).await;
    let refused = assert_error(
        production.identify(&token, truncated_jpeg()).await,
        422,
        "validation_error",
    )
    .await;
    let (local, token) = signed_in(TestApp::builder()).await;
    let refused_locally = assert_error(
        local.identify(&token, truncated_jpeg()).await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(refused_locally.detail, refused.detail);
}

#[tokio::test]
async fn identification_turned_off_answers_501_naming_the_setting() {
    let (app, token) = signed_in(
        TestApp::builder()
            .fireworks(says("Leg Press", 0.9))
            .env(("FEATURES_OFF", "identification")),
    )
    .await;
    let refused = assert_error(app.identify(&token, photo(1)).await, 501, "feature_off").await;
    assert!(
        refused
            .detail
            .to_string()
            .contains("FEATURES_OFF=identification"),
        "{}",
        refused.body
    );
    assert_eq!(
        app.fireworks().calls(),
        0,
        "the model is never asked when identification is off"
    );
    let health = app.get_json("/health", 200).await;
    assert_eq!(health["features"]["identification"], false);
}
