//! The ways of starting the app before `TestApp::builder()`, while tests move over.

use machinemate_api::config::Settings;
use machinemate_api::startup::Application;

use super::TestApp;
use crate::stand_ins::auth::{AuthServer, keys};

pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder();
    for pair in extra {
        builder = builder.env(*pair);
    }
    builder.spawn().await
}

pub async fn spawn_app_with_auth(extra: &[(&str, &str)]) -> (TestApp, AuthServer) {
    let keys = keys();
    let auth = AuthServer::start(&[&keys.es256, &keys.rs256]).await;
    let mut builder = TestApp::builder().shared_auth(auth.clone());
    for pair in extra {
        builder = builder.env(*pair);
    }
    (builder.spawn().await, auth)
}

pub async fn spawn_with_settings(settings: Settings, database_name: String) -> TestApp {
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp::builder()
        .finish(address, database_name, Default::default(), None)
        .await
}
