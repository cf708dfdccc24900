//! Database faults under load: Postgres refusing connections, hanging on new ones, and
//! black-holing open ones, while writers and readers keep going. Every answer comes
//! within two seconds (a 2xx, or a 503 in the envelope), liveness stays up, readiness
//! follows the database, the service recovers on its own, and no write acknowledged
//! with a 2xx is lost: retried with their `Idempotency-Key`, the writes that failed are
//! done exactly once.
//!
//! (Readiness alone, and the 503 of a catalog read, are in `health.rs`; upstream faults
//! of the JWKS endpoint, Fireworks and storage in `auth.rs`, `identify.rs`, `media.rs`
//! and below.)

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    DbProxy, TestApp, database_url, fresh_database, postgres_addr, spawn_with_settings,
    test_settings,
};
use crate::stand_ins::auth::{AuthServer, keys};

/// The longest any answer may take while the database is down.
const BOUND: Duration = Duration::from_secs(2);
const MACHINES: [&str; 6] = [
    "leg_press",
    "treadmill",
    "lat_pulldown",
    "chest_press",
    "seated_row",
    "seated_leg_curl",
];

struct Write {
    key: String,
    body: Value,
    token: String,
}

#[derive(Default)]
struct Log {
    /// (write, status, latency); status 0 = no answer.
    writes: Vec<(Write, u16, Duration)>,
    /// (status, code, latency) of reads.
    reads: Vec<(u16, String, Duration)>,
}

async fn writer(
    app: Arc<TestApp>,
    token: String,
    worker: usize,
    stop: Arc<AtomicBool>,
    log: Arc<std::sync::Mutex<Log>>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let write = Write {
            key: format!("w{worker}-{n}"),
            body: json!({"id": Uuid::new_v4(), "machine_id": MACHINES[n % MACHINES.len()], "confidence": 0.5}),
            token: token.clone(),
        };
        let started = Instant::now();
        let status = app
            .request(Method::POST, "/api/v1/history", &write.token)
            .header("Idempotency-Key", &write.key)
            .json(&write.body)
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        log.lock()
            .unwrap()
            .writes
            .push((write, status, started.elapsed()));
        n += 1;
        // As the app does: a short pause, longer after a failure.
        let pause = if status == 201 { 10 } else { 100 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn reader(
    app: Arc<TestApp>,
    token: String,
    stop: Arc<AtomicBool>,
    log: Arc<std::sync::Mutex<Log>>,
) {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let path = [
            "/api/v1/favorites",
            "/api/v1/history?page_size=5",
            "/api/v1/sync",
        ][n % 3];
        let started = Instant::now();
        let (status, code) = match app.get_as(path, &token).await {
            response if response.status().is_success() => {
                (response.status().as_u16(), String::new())
            }
            response => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                (status, body["code"].as_str().unwrap_or("").to_owned())
            }
        };
        let pause = if status == 200 { 10 } else { 100 };
        log.lock()
            .unwrap()
            .reads
            .push((status, code, started.elapsed()));
        n += 1;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn wait_until_ready(app: &TestApp, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if app.get("/health/ready").await.status() == 200 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "not ready again after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// During an outage: live, not ready, and an API call is a fast 503 in the envelope.
async fn assert_degraded(app: &TestApp, token: &str) {
    assert_eq!(app.get("/health/live").await.status(), 200);
    let started = Instant::now();
    assert_eq!(app.get("/health/ready").await.status(), 503);
    assert!(started.elapsed() < BOUND);
    let started = Instant::now();
    let response = app
        .request(Method::POST, "/api/v1/favorites", token)
        .json(&json!({"machine_id": "hack_squat_machine"}))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    assert_unavailable(response).await;
}

/// A 503 in the envelope: no connection to be had (`database_unavailable`), or the
/// request deadline passed on a connection that stopped answering (`service_unavailable`).
async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    let trace = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert!(
        matches!(
            body["code"].as_str(),
            Some("database_unavailable" | "service_unavailable")
        ),
        "{body}"
    );
    assert_eq!(body["trace_id"], trace.as_str());
    assert!(body["detail"].is_string());
}

type Fault = (&'static str, fn(&DbProxy));

/// Runs writers and readers against an app behind `DbProxy`, puts the database through
/// `faults` one after the other (each 2.5 s, then back), and checks every answer and
/// every write.
async fn outages_under_load(faults: &[Fault]) {
    let proxy = DbProxy::start(postgres_addr()).await;
    let name = fresh_database().await;
    let auth = AuthServer::start(&[&keys().es256]).await;
    let auth_env = auth.env();
    let env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = Arc::new(
        spawn_with_settings(
            test_settings(&proxy.url_for(&database_url(&name)), &env),
            name,
        )
        .await,
    );
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let user = app.sign_up().await;
        tokens.push(auth.token(&keys().es256, user, json!({})));
    }
    // Sign-in is warm (profile rows known) before the faults start.
    for token in &tokens {
        assert_eq!(app.get_as("/api/v1/users/me", token).await.status(), 200);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(std::sync::Mutex::new(Log::default()));
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let token = tokens[worker % tokens.len()].clone();
        tasks.push(tokio::spawn(writer(
            app.clone(),
            token,
            worker,
            stop.clone(),
            log.clone(),
        )));
    }
    for token in &tokens {
        tasks.push(tokio::spawn(reader(
            app.clone(),
            token.clone(),
            stop.clone(),
            log.clone(),
        )));
    }

    let outage = Duration::from_millis(2500);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut recovered_in = Vec::new();
    for &(what, fault) in faults {
        fault(&proxy);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_degraded(&app, &tokens[0]).await;
        tokio::time::sleep(outage).await;
        proxy.forward();
        recovered_in.push((what, wait_until_ready(&app, Duration::from_secs(10)).await));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let log = std::mem::take(&mut *log.lock().unwrap());

    // Every answer: a 2xx, or a 503 in time; never a 500, never a hang.
    let slowest = log
        .writes
        .iter()
        .map(|(_, _, latency)| *latency)
        .chain(log.reads.iter().map(|(_, _, latency)| *latency))
        .max()
        .unwrap();
    assert!(slowest < BOUND, "slowest answer {slowest:?}");
    for (status, code, _) in &log.reads {
        assert!(
            *status == 200
                || (*status == 503
                    && matches!(
                        code.as_str(),
                        "database_unavailable" | "service_unavailable"
                    )),
            "read answered {status} {code}"
        );
    }
    let refused = log.writes.iter().filter(|(_, s, _)| *s == 503).count();
    let acknowledged = log.writes.iter().filter(|(_, s, _)| *s == 201).count();
    assert!(
        log.writes.iter().all(|(_, s, _)| matches!(s, 201 | 503)),
        "{:?}",
        log.writes.iter().map(|(_, s, _)| s).collect::<HashSet<_>>()
    );
    assert!(refused > 0, "the outages were felt");
    assert!(
        acknowledged > 50,
        "writes went through between outages: {acknowledged}"
    );

    // The app retries what failed, with the same keys: each write is done exactly once.
    for (write, status, _) in &log.writes {
        if *status != 201 {
            let response = app
                .request(Method::POST, "/api/v1/history", &write.token)
                .header("Idempotency-Key", &write.key)
                .json(&write.body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "retry of {}", write.key);
            let entry: Value = response.json().await.unwrap();
            assert_eq!(entry["id"], write.body["id"]);
        }
    }
    let stored: Vec<Uuid> = sqlx::query_scalar("select id from history")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let stored: HashSet<String> = stored.iter().map(Uuid::to_string).collect();
    let expected: HashSet<String> = log
        .writes
        .iter()
        .map(|(w, _, _)| w.body["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), log.writes.len(), "duplicates or losses");
    assert_eq!(stored, expected);
    eprintln!(
        "{} writes ({acknowledged} acknowledged, {refused} refused), {} reads, slowest {slowest:?}, recovered in {recovered_in:?}",
        log.writes.len(),
        log.reads.len()
    );
}

#[tokio::test]
async fn refused_and_hanging_databases_mid_load_answer_fast_recover_and_lose_no_write() {
    outages_under_load(&[("refused", DbProxy::refuse), ("hanging", DbProxy::hang)]).await;
}

/// Open connections black-holed (no FIN, no RST; a failed-over NAT, a hung pooler): the
/// request deadline answers in time; the pool then checks connections with a bound and
/// closes the silent ones (`db::connect_lazy`), and Postgres ends the transactions their
/// clients abandoned (`idle_in_transaction_session_timeout` in `UserTx::begin`).
#[tokio::test]
async fn black_holed_database_connections_mid_load_recover_and_lose_no_write() {
    outages_under_load(&[("black-holed", DbProxy::stall)]).await;
}

// Upstream faults. Fireworks failing, hanging or refused (fast 503 once the breaker is
// open) is in identify.rs; the JWKS endpoint answering errors with a warm cache, and with
// no keys at all, in auth.rs; storage refusing connections in media.rs.

#[tokio::test]
async fn a_hanging_jwks_endpoint_with_a_warm_cache_still_lets_people_in_quickly() {
    let (app, auth) = crate::helpers::spawn_app_with_auth(&[
        ("SUPABASE_JWKS_CACHE_SECS", "1"),
        ("SUPABASE_JWKS_REFRESH_MIN_SECS", "1"),
    ])
    .await;
    let user = app.sign_up().await;
    let warm = auth.token(&keys().es256, user, json!({}));
    assert_eq!(app.get_as("/api/v1/favorites", &warm).await.status(), 200);

    // The endpoint now accepts connections and never answers; the cached keys are stale.
    auth.set_hanging(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fetches = auth.fetches();
    for round in 0..4 {
        // Tokens the service has not verified before, several at once.
        let tokens: Vec<String> = (0..3)
            .map(|_| auth.token(&keys().es256, user, json!({"session_id": Uuid::new_v4()})))
            .collect();
        let started = Instant::now();
        let answers = futures_util::future::join_all(
            tokens.iter().map(|t| app.get_as("/api/v1/favorites", t)),
        )
        .await;
        let took = started.elapsed();
        for answer in answers {
            assert_eq!(answer.status(), 200, "round {round}");
        }
        assert!(took < BOUND, "round {round} took {took:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(auth.fetches() > fetches, "refetches were attempted");
    // A key it never had is still refused, not waited on for ever.
    let started = Instant::now();
    let unknown = keys().es256_next.sign(&auth.claims(user));
    let response = app.get_as("/api/v1/favorites", &unknown).await;
    assert!(
        matches!(response.status().as_u16(), 401 | 503),
        "{}",
        response.status()
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// An S3 endpoint that answers every call with a 503 (a storage outage behind a live
/// load balancer), counting the calls.
async fn broken_storage() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let counted = calls.clone();
    let server = actix_web::HttpServer::new(move || {
        let counted = counted.clone();
        actix_web::App::new().default_service(actix_web::web::to(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {
                actix_web::HttpResponse::ServiceUnavailable()
                    .content_type("application/xml")
                    .body("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (endpoint, calls)
}

#[tokio::test]
async fn storage_answering_errors_is_a_clear_503_with_nothing_half_done() {
    let (endpoint, calls) = broken_storage().await;
    let auth = AuthServer::start(&[&keys().es256]).await;
    let auth_env = auth.env();
    let mut env: Vec<(&str, &str)> = auth_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("STORAGE_S3_ENDPOINT", endpoint.as_str()),
        ("STORAGE_S3_ACCESS_KEY_ID", "x"),
        ("STORAGE_S3_SECRET_ACCESS_KEY", "y"),
    ]);
    let app = crate::helpers::spawn_app_with(&env).await;
    let user = app.sign_up().await;
    let token = auth.token(&keys().es256, user, json!({}));
    let count = |table: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "select count(*) from {table}"
            )))
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let unavailable = |response: reqwest::Response, started: Instant| async move {
        let took = started.elapsed();
        let detail = crate::helpers::assert_error(response, 503, "service_unavailable")
            .await
            .detail;
        assert_eq!(detail, "Storage is unavailable");
        // The SDK's retries with backoff, well inside its 20 s operation bound.
        assert!(took < Duration::from_secs(10), "{took:?}");
    };

    // The multipart upload: nothing recorded.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'])
            .file_name("p.jpg"),
    );
    let started = Instant::now();
    let response = app
        .request(Method::POST, "/api/v1/media/upload", &token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 0);

    // A presigned upload: signing needs no storage call, confirming does; the asset
    // stays pending, so the app can confirm again later.
    let ticket: Value = app
        .request(Method::POST, "/api/v1/media/upload-url", &token)
        .json(&json!({"content_type": "image/jpeg", "size_bytes": 8, "asset_type": "user_photo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asset = ticket["asset_id"].as_str().unwrap();
    let started = Instant::now();
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/media/{asset}/complete"),
            &token,
        )
        .send()
        .await
        .unwrap();
    unavailable(response, started).await;
    let status: String = sqlx::query_scalar("select status from media_assets where id = $1::uuid")
        .bind(asset)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(status, "ready");

    // Deleting: the record stays until the object is gone, so the call can be repeated.
    let path = ticket["path"].as_str().unwrap();
    let started = Instant::now();
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/media/delete/{path}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 1);
    // Account deletion removes files first: refused whole, the account stays.
    let started = Instant::now();
    let response = app
        .request(Method::DELETE, "/api/v1/users/me", &token)
        .send()
        .await
        .unwrap();
    unavailable(response, started).await;
    assert_eq!(count("media_assets").await, 1);
    assert_eq!(count("users").await, 1);
    assert!(
        calls.load(Ordering::SeqCst) >= 4,
        "storage was really asked"
    );
}
