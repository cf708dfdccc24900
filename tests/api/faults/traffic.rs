//! The traffic during an outage: writers adding history entries with idempotency keys,
//! readers reading lists and sync, each logging what it was answered and how fast.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

const MACHINES: [&str; 6] = [
    "leg_press",
    "treadmill",
    "lat_pulldown",
    "chest_press",
    "seated_row",
    "seated_leg_curl",
];

pub struct Write {
    pub key: String,
    pub body: Value,
    pub token: String,
}

#[derive(Default)]
pub struct Log {
    /// (write, status, latency); status 0 = no answer.
    pub writes: Vec<(Write, u16, Duration)>,
    /// (status, code, latency) of reads.
    pub reads: Vec<(u16, String, Duration)>,
}

pub async fn writer(
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
        // As the app does: a short pause, longer after a failure. (One user's history
        // writes are limited to 300 a minute: 25 a second at most here.)
        let pause = if status == 201 { 40 } else { 100 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

pub async fn reader(
    app: Arc<TestApp>,
    token: String,
    stop: Arc<AtomicBool>,
    log: Arc<std::sync::Mutex<Log>>,
) {
    let mut n = 0usize;
    // As the app syncs: everything once, then from the cursor it was given.
    let mut cursor: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let path = match n % 3 {
            0 => "/api/v1/favorites".to_owned(),
            1 => "/api/v1/history?page_size=5".to_owned(),
            _ => match &cursor {
                Some(c) => format!("/api/v1/sync?since={c}"),
                None => "/api/v1/sync".to_owned(),
            },
        };
        let started = Instant::now();
        let (status, code) = match app.get_as(&path, &token).await {
            response if response.status().is_success() => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                if let Some(next) = body["cursor"].as_str() {
                    cursor = Some(next.to_owned());
                }
                (status, String::new())
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
