//! Outside development the service serves every feature or says which it turned off:
//! a configuration without the model or storage stops `serve` with one line naming the
//! variables, unless `FEATURES_OFF` turns the feature off on purpose.

use crate::binary::command;
use crate::helpers::{TestApp, assert_error};

/// A database URL nothing listens at: these runs stop before connecting, or fail there.
const NOWHERE: &str = "postgres://postgres@127.0.0.1:1/machinemate";

#[tokio::test]
async fn outside_development_serving_without_model_or_storage_stops_with_one_line_naming_them() {
    for environment in ["staging", "production"] {
        let output = command()
            .arg("serve")
            .env("DATABASE_URL", NOWHERE)
            .env("ENVIRONMENT", environment)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{environment}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for named in [
            "FIREWORKS_API_KEY",
            "STORAGE_S3_ENDPOINT",
            "FEATURES_OFF=identification,media",
        ] {
            assert!(stderr.contains(named), "{stderr}");
        }
    }
}

#[tokio::test]
async fn the_other_commands_need_neither_the_model_nor_storage() {
    // The migration job runs with the database's variables only.
    let output = command()
        .args(["migrate", "--check"])
        .env("DATABASE_URL", NOWHERE)
        .env("ENVIRONMENT", "production")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "it got as far as the database: {stderr}"
    );
    assert!(!stderr.contains("FIREWORKS_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn features_turned_off_on_purpose_let_production_serve_and_answer_501() {
    let app = TestApp::builder()
        .auth()
        .env(("ENVIRONMENT", "production"))
        .env(("FEATURES_OFF", "identification,media"))
        .spawn_process()
        .await;
    let token = app.sign_in().await;
    let health = app.get_json("/health", 200).await;
    assert_eq!(
        (
            &health["features"]["identification"],
            &health["features"]["media_upload"],
            &health["mocking_enabled"]
        ),
        (&false.into(), &false.into(), &false.into())
    );
    let refused = assert_error(
        app.identify(&token, vec![0xFF, 0xD8]).await,
        501,
        "feature_off",
    )
    .await;
    assert!(refused.detail.to_string().contains("identification"));
    assert_error(
        app.upload_ticket(&token, "image/jpeg", 1000).await,
        501,
        "feature_off",
    )
    .await;
}
