//! Postgres refusing, hanging and black-holed under load.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::BOUND;
use super::traffic::{Log, reader, writer};
use crate::helpers::{DbProxy, TestApp, error_answer};

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
    let response = app.add_favorite(token, "hack_squat_machine").await;
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    assert_unavailable(response).await;
}

/// A 503 in the envelope: no connection to be had (`database_unavailable`), or the
/// request deadline passed on a connection that stopped answering (`service_unavailable`).
async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.status(), 503);
    let answer = error_answer(response).await;
    assert!(
        matches!(
            answer.code.as_str(),
            "database_unavailable" | "service_unavailable"
        ),
        "{}",
        answer.body
    );
    assert!(answer.detail.is_string());
}

type Fault = (&'static str, fn(&DbProxy));

/// Runs writers and readers against an app behind `DbProxy`, puts the database through
/// `faults` one after the other (each 2.5 s, then back), and checks every answer and
/// every write.
async fn outages_under_load(faults: &[Fault]) {
    let app = Arc::new(TestApp::builder().auth().behind_db_proxy().spawn().await);
    // A user per writer: one user's writes queue on their row and are limited per minute.
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(app.sign_in().await);
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
    for token in &tokens[..4] {
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
        fault(app.db_proxy());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_degraded(&app, &tokens[0]).await;
        tokio::time::sleep(outage).await;
        app.db_proxy().forward();
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
