//! A stand-in Sentry: takes envelopes at `/api/{project}/envelope/` as sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::StandIn;

pub struct SentryServer {
    pub dsn: String,
    envelopes: Arc<Mutex<Vec<String>>>,
}

impl SentryServer {
    pub fn start() -> SentryServer {
        let envelopes = Arc::new(Mutex::new(Vec::new()));
        let store = web::Data::from(envelopes.clone());
        let server = StandIn::http(1, move |cfg| {
            cfg.app_data(store.clone()).route(
                "/api/{project}/envelope/",
                web::post().to(
                    |body: web::Bytes, store: web::Data<Mutex<Vec<String>>>| async move {
                        store
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        HttpResponse::Ok().json(json!({"id": "0"}))
                    },
                ),
            );
        });
        SentryServer {
            dsn: format!("http://publickey@{}/42", server.addr),
            envelopes,
        }
    }

    /// The first envelope holding `needle`, waiting up to 10 s for it.
    pub async fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self
                .envelopes
                .lock()
                .unwrap()
                .iter()
                .find(|e| e.contains(needle))
            {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no Sentry envelope with {needle}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
