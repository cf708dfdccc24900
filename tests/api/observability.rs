//! What operators see: `/metrics` for a Prometheus scrape, Cloud Logging JSON lines
//! with `httpRequest` and the Cloud Trace link, and Sentry events without secrets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::helpers::{
    DbProxy, assert_error, database_url, fresh_database, metric_value, postgres_addr,
    spawn_app_with_auth,
};
use crate::stand_ins::auth::keys;

const METRICS_TOKEN: &str = "scrape-me-7f3a9c";

/// `promtool check metrics` on an exposition: the reference check of the text format
/// (and of Prometheus' naming conventions). scripts/test provides promtool.
fn promtool_check(text: &str) {
    use std::io::Write;
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{promtool} ({e}): run the tests with scripts/test"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_count_requests_for_the_token_or_an_admin_only() {
    let (app, auth) = spawn_app_with_auth(&[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let scrape = |token: &'static str| {
        let request = app.client.get(app.url("/metrics"));
        async move {
            let request = if token.is_empty() {
                request
            } else {
                request.bearer_auth(token)
            };
            request.send().await.unwrap()
        }
    };
    assert_error(scrape("").await, 401, "unauthorized").await;
    assert_error(scrape("wrong-token").await, 401, "unauthorized").await;

    let series = r#"machinemate_http_requests_total{method="GET",route="/api/v1/machines/{machine_id}",status="200"}"#;
    let seen = metric_value(&scrape(METRICS_TOKEN).await.text().await.unwrap(), series);
    assert_eq!(app.get("/api/v1/machines/leg_press").await.status(), 200);

    let response = scrape(METRICS_TOKEN).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    promtool_check(&text);
    assert_eq!(metric_value(&text, series), seen + 1.0, "{text}");
    for family in [
        "machinemate_http_request_duration_seconds_bucket{",
        "machinemate_http_requests_in_flight ",
        "machinemate_db_pool_connections{state=\"idle\"}",
        "machinemate_db_pool_max_connections ",
        "machinemate_db_pool_wait_seconds_count ",
        "machinemate_upstream_calls_total{outcome=\"ok\",upstream=\"postgres\"}",
        "machinemate_upstream_call_duration_seconds_count{upstream=\"postgres\"}",
        "machinemate_cache_lookups_total{cache=\"catalog\"",
        "machinemate_build_info{",
        "machinemate_process_resident_memory_bytes ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(family)),
            "{family} missing from /metrics"
        );
    }

    // A signed-in user is not an operator; an admin is.
    let user = app.sign_up().await;
    let member = auth.token(&keys().es256, user, json!({}));
    let admin = auth.token(
        &keys().es256,
        user,
        json!({"app_metadata": {"role": "admin"}}),
    );
    assert_error(app.get_as("/metrics", &member).await, 403, "forbidden").await;
    assert_eq!(app.get_as("/metrics", &admin).await.status(), 200);
}

/// A stand-in Sentry: takes envelopes at `/api/{project}/envelope/` as sent.
struct SentryServer {
    dsn: String,
    envelopes: Arc<Mutex<Vec<String>>>,
}

impl SentryServer {
    async fn start() -> SentryServer {
        let envelopes = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let store = web::Data::from(envelopes.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(store.clone()).route(
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
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        SentryServer {
            dsn: format!("http://publickey@127.0.0.1:{port}/42"),
            envelopes,
        }
    }

    async fn wait_for(&self, needle: &str) -> String {
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

/// The real binary, logging Cloud Logging JSON to a pipe whose lines are kept.
struct Binary {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Binary {
    fn start(env: &HashMap<&str, String>) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_machinemate-api"))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = reader.next().expect("the server logs").unwrap();
            let json: Value = serde_json::from_str(&line).unwrap();
            if json["message"] == "listening" {
                break json["port"].as_u64().unwrap() as u16;
            }
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in reader.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Binary { child, port, lines }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn line_where(&self, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| predicate(v));
            if let Some(line) = found {
                return line;
            }
            assert!(Instant::now() < deadline, "no such log line");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn logs_link_cloud_trace_and_sentry_gets_no_secrets() {
    let sentry = SentryServer::start().await;
    let proxy = DbProxy::start(postgres_addr()).await;
    let url = proxy.url_for(&database_url(&fresh_database().await));
    let env: HashMap<&str, String> = [
        ("DATABASE_URL", url),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "800".into()),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
        ("GOOGLE_CLOUD_PROJECT", "machinemate-test".into()),
        ("SENTRY_DSN", sentry.dsn.clone()),
        ("SENTRY_ENVIRONMENT", "ci".into()),
    ]
    .into_iter()
    .collect();
    let binary = Binary::start(&env);
    let client = reqwest::Client::new();
    let token = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LWNsYWltcw.bm90LWEtcmVhbC1zaWduYXR1cmU";
    let signature = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    // A request that succeeds: its log line, in Cloud Logging's shape.
    let response = client
        .get(binary.url(&format!(
            "/api/v1/machines?page_size=5&X-Amz-Signature={signature}"
        )))
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", "sb-access-token=cookie-secret-value")
        .header("User-Agent", "MachineMate-Test/1.0")
        .header(
            "X-Cloud-Trace-Context",
            format!("{trace_id}/1234567890;o=1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = binary
        .line_where(|l| l["message"] == "request completed" && l["trace_id"] == trace_id)
        .await;
    assert_eq!(line["severity"], "INFO");
    assert_eq!(
        line["logging.googleapis.com/trace"],
        format!("projects/machinemate-test/traces/{trace_id}")
    );
    assert_eq!(line["logging.googleapis.com/spanId"], "1234567890");
    let request = &line["httpRequest"];
    assert_eq!(request["requestMethod"], "GET");
    assert_eq!(request["status"], 200);
    assert_eq!(request["userAgent"], "MachineMate-Test/1.0");
    assert_eq!(request["remoteIp"], "127.0.0.1");
    assert!(request["latency"].as_str().unwrap().ends_with('s'));
    assert!(
        request["responseSize"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(
        request["requestUrl"],
        "/api/v1/machines?page_size=5&X-Amz-Signature=[redacted]"
    );

    // The database goes away: the failure is logged once and reported to Sentry, with
    // the request's details but none of its secrets.
    proxy.refuse();
    let failed = client
        .get(binary.url(&format!("/api/v1/metrics/categories?token={signature}")))
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", "sb-access-token=cookie-secret-value")
        .header(
            "X-Cloud-Trace-Context",
            "0af7651916cd43dd8448eb211c80319c/1;o=1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let envelope = sentry.wait_for("database unavailable").await;
    assert!(
        envelope.contains("/api/v1/metrics/categories"),
        "{envelope}"
    );
    assert!(envelope.contains("\"environment\":\"ci\""), "{envelope}");
    for secret in [token, signature, "cookie-secret-value"] {
        assert!(
            !envelope.contains(secret),
            "Sentry got {secret}: {envelope}"
        );
    }
    let errors: Vec<String> = binary
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("\"severity\":\"ERROR\""))
        .cloned()
        .collect();
    assert_eq!(errors.len(), 1, "the failure is logged once: {errors:?}");

    // No line the service wrote holds a token, a cookie or a signature.
    for line in binary.lines.lock().unwrap().iter() {
        for secret in [token, signature, "cookie-secret-value"] {
            assert!(!line.contains(secret), "logged {secret}: {line}");
        }
    }
}
