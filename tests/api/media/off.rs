//! Media without storage: a clear 501 naming what is missing or what turned it off,
//! never a 503 that would have clients retry for ever.

use crate::helpers::{TestApp, assert_error};

use super::jpeg;

#[tokio::test]
async fn without_storage_in_development_media_answers_501_naming_the_variables() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    for response in [
        app.upload_ticket(&token, "image/jpeg", 1000).await,
        app.upload(&token, jpeg(1000), "image/jpeg").await,
    ] {
        let refused = assert_error(response, 501, "feature_off").await;
        let detail = refused.detail.as_str().unwrap();
        for variable in [
            "STORAGE_S3_ENDPOINT",
            "STORAGE_S3_ACCESS_KEY_ID",
            "STORAGE_S3_SECRET_ACCESS_KEY",
            "scripts/dev",
        ] {
            assert!(detail.contains(variable), "{detail}");
        }
    }
    let health = app.get_json("/health", 200).await;
    assert_eq!(health["features"]["media_upload"], false);
}

#[tokio::test]
async fn media_turned_off_answers_501_even_with_storage_configured() {
    let app = TestApp::builder()
        .auth()
        .storage()
        .env(("FEATURES_OFF", "media"))
        .spawn()
        .await;
    let token = app.sign_in().await;
    let refused = assert_error(
        app.upload_ticket(&token, "image/jpeg", 1000).await,
        501,
        "feature_off",
    )
    .await;
    assert_eq!(
        refused.detail,
        "Media is turned off on this server (FEATURES_OFF=media)"
    );
    assert_eq!(
        app.get_json("/health", 200).await["features"]["media_upload"],
        false
    );
}
