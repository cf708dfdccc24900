//! Two minutes of mixed traffic at high concurrency against the real binary: catalog
//! reads and searches (with revalidation), favorites written and read, history written
//! (single and batch, with client ids and idempotency keys) and read, sync with
//! cursors, profiles. Every answer must be the expected one (zero errors), every write
//! the service acknowledged must be in the database afterwards (and nothing else), each
//! device's sync mirror must equal the database, and the process's memory must stay
//! flat once warm.
//!
//! `#[ignore]`d in the plain suite (it takes minutes and saturates both cores); run by
//! `.ci/run` through `scripts/load-test`. `LOAD_TEST_SECS` sets the duration (120 in
//! CI), `LOAD_TEST_CONCURRENCY` the number of clients (64).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::binary::Service;
use crate::helpers::{database_url, fresh_database};
use crate::stand_ins::auth::{AuthServer, keys};

const MACHINES: [&str; 16] = [
    "leg_press",
    "treadmill",
    "lat_pulldown",
    "chest_press",
    "seated_row",
    "shoulder_press",
    "leg_extension_machine",
    "seated_leg_curl",
    "pec_deck_machine",
    "hack_squat_machine",
    "smith_machine_squat",
    "cable_crossover",
    "preacher_curl_machine",
    "elliptical_machine",
    "rowing_machine",
    "stair_climber",
];
const WORDS: [&str; 10] = [
    "press", "leg", "row", "curl", "chest", "cable", "squat", "tredmil", "pec fly", "back",
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift: reproducible per client, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

async fn start_service(database: &str, auth: &AuthServer) -> Service {
    let mut env: Vec<(&str, String)> = auth.env();
    env.push(("DATABASE_URL", database_url(database)));
    Service::start(&env).await
}

/// What one client (one user, one device) knows it did, and what it saw.
#[derive(Default)]
struct Client {
    favorites: BTreeSet<String>,
    history: BTreeSet<Uuid>,
    /// The device's copy, built from sync alone.
    mirror_favorites: BTreeSet<String>,
    mirror_history: BTreeSet<String>,
    cursor: Option<String>,
    etags: BTreeMap<String, String>,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: Vec<String>,
    latencies_ms: Vec<u32>,
}

struct Run<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    token: &'a str,
    tally: Tally,
}

impl Run<'_> {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
        expected: &[StatusCode],
    ) -> Option<(StatusCode, reqwest::header::HeaderMap, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(self.token);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let result = request.send().await;
        self.tally.requests += 1;
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                // The whole chain (a reset, a timeout, a refused connection) and when.
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    chain.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                self.tally.errors.push(format!(
                    "{method} {path}: {chain} (after {:?})",
                    started.elapsed()
                ));
                return None;
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        self.tally
            .latencies_ms
            .push(started.elapsed().as_millis().min(u32::MAX.into()) as u32);
        if !expected.contains(&status) {
            self.tally.errors.push(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            ));
            return None;
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Some((status, headers, body))
    }
}

async fn client_loop(
    http: reqwest::Client,
    base: String,
    token: String,
    seed: u64,
    until: Instant,
) -> (Client, Tally) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut me = Client::default();
    let mut run = Run {
        http: &http,
        base: &base,
        token: &token,
        tally: Tally::default(),
    };
    let (ok, created, not_modified) = (
        StatusCode::OK,
        StatusCode::CREATED,
        StatusCode::NOT_MODIFIED,
    );
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        match rng.below(100) {
            // Catalog: lists, machines, searches (new text too), with revalidation.
            0..=29 => {
                let path = match rng.below(5) {
                    0 => format!("/api/v1/machines?page={}", 1 + rng.below(3)),
                    1 => format!("/api/v1/machines/{}", MACHINES[rng.below(MACHINES.len())]),
                    2 => "/api/v1/machines/categories/list".to_owned(),
                    3 => format!(
                        "/api/v1/machines?search={}",
                        WORDS[rng.below(WORDS.len())].replace(' ', "%20")
                    ),
                    _ => format!("/api/v1/machines?search=x{}", rng.next() % 100_000),
                };
                let etag = me.etags.get(&path).cloned();
                let headers: Vec<(&str, String)> =
                    etag.iter().map(|e| ("If-None-Match", e.clone())).collect();
                if let Some((_, headers, _)) = run
                    .call(Method::GET, &path, None, &headers, &[ok, not_modified])
                    .await
                    && let Some(etag) = headers.get("etag").and_then(|v| v.to_str().ok())
                {
                    me.etags.insert(path, etag.to_owned());
                }
            }
            // Favorites: add one not yet there, or remove one.
            30..=44 => {
                let machine = MACHINES[rng.below(MACHINES.len())];
                if me.favorites.contains(machine) {
                    let path = format!("/api/v1/favorites/{machine}");
                    // A deletion answers 200 with what it removed (the app parses every body).
                    if let Some((_, _, body)) =
                        run.call(Method::DELETE, &path, None, &[], &[ok]).await
                    {
                        if body == json!({"deleted": 1}) {
                            me.favorites.remove(machine);
                        } else {
                            run.tally.errors.push(format!("DELETE {path}: {body}"));
                        }
                    }
                } else {
                    let body = json!({"machine_id": machine, "notes": format!("n{n}")});
                    let key = [("Idempotency-Key", format!("f{seed}-{n}"))];
                    if run
                        .call(
                            Method::POST,
                            "/api/v1/favorites",
                            Some(body),
                            &key,
                            &[created],
                        )
                        .await
                        .is_some()
                    {
                        me.favorites.insert(machine.to_owned());
                    }
                }
            }
            // Read your own writes: the list is exactly what was acknowledged.
            45..=52 => {
                if let Some((_, _, body)) = run
                    .call(Method::GET, "/api/v1/favorites", None, &[], &[ok])
                    .await
                {
                    let listed: BTreeSet<String> = body["favorites"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|f| f["machine_id"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if listed != me.favorites {
                        run.tally.errors.push(format!(
                            "favorites read {listed:?}, acknowledged {:?}",
                            me.favorites
                        ));
                    }
                }
            }
            // History: one entry, or an offline batch, with client ids.
            53..=67 => {
                let ids: Vec<Uuid> = (0..if rng.below(4) == 0 { 3 } else { 1 })
                    .map(|_| Uuid::new_v4())
                    .collect();
                let entries: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        json!({"id": id, "machine_id": MACHINES[rng.below(MACHINES.len())],
                               "confidence": 0.5, "source": "load"})
                    })
                    .collect();
                let (path, body) = if entries.len() == 1 {
                    ("/api/v1/history", entries[0].clone())
                } else {
                    ("/api/v1/history/batch", json!({"entries": entries}))
                };
                let key = [("Idempotency-Key", format!("h{seed}-{n}"))];
                if run
                    .call(Method::POST, path, Some(body), &key, &[created])
                    .await
                    .is_some()
                {
                    me.history.extend(ids);
                }
            }
            68..=75 => {
                if let Some((_, _, body)) = run
                    .call(Method::GET, "/api/v1/history?page_size=5", None, &[], &[ok])
                    .await
                    && body["total"].as_u64() != Some(me.history.len() as u64)
                {
                    run.tally.errors.push(format!(
                        "history total {}, acknowledged {}",
                        body["total"],
                        me.history.len()
                    ));
                }
            }
            // Sync: the device applies changes to its mirror.
            76..=89 => {
                let path = match &me.cursor {
                    Some(c) => format!("/api/v1/sync?since={c}"),
                    None => "/api/v1/sync".to_owned(),
                };
                if let Some((_, _, body)) = run.call(Method::GET, &path, None, &[], &[ok]).await {
                    apply(&mut me, &body);
                }
            }
            // Profile.
            _ => {
                if rng.below(2) == 0 {
                    run.call(Method::GET, "/api/v1/users/me", None, &[], &[ok])
                        .await;
                } else {
                    let body = json!({"preferences": {"units": "kg", "n": n}});
                    run.call(Method::PATCH, "/api/v1/users/me", Some(body), &[], &[ok])
                        .await;
                }
            }
        }
    }
    // The device catches up before the books are closed.
    loop {
        let path = match &me.cursor {
            Some(c) => format!("/api/v1/sync?since={c}"),
            None => "/api/v1/sync".to_owned(),
        };
        let Some((_, _, body)) = run.call(Method::GET, &path, None, &[], &[ok]).await else {
            break;
        };
        apply(&mut me, &body);
        if body["has_more"] != true {
            break;
        }
    }
    (me, run.tally)
}

fn apply(me: &mut Client, body: &Value) {
    let strings = |v: &Value, key: Option<&str>| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| match key {
                        Some(k) => x[k].as_str().map(str::to_owned),
                        None => x.as_str().map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for id in strings(&body["favorites"]["deleted"], None) {
        me.mirror_favorites.remove(&id);
    }
    me.mirror_favorites
        .extend(strings(&body["favorites"]["upserted"], Some("machine_id")));
    for id in strings(&body["history"]["deleted"], None) {
        me.mirror_history.remove(&id);
    }
    me.mirror_history
        .extend(strings(&body["history"]["upserted"], Some("id")));
    if let Some(cursor) = body["cursor"].as_str() {
        me.cursor = Some(cursor.to_owned());
    }
}

async fn sign_up(db: &PgPool) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("insert into auth.users (id, email) values ($1, $2)")
        .bind(id)
        .bind(format!("{}@load.example", id.simple()))
        .execute(db)
        .await
        .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of load: run by .ci/run through scripts/load-test (LOAD_TEST_SECS)"]
async fn mixed_traffic_at_high_concurrency_loses_nothing_and_memory_stays_flat() {
    let seconds = env_number("LOAD_TEST_SECS", 120);
    let concurrency = env_number("LOAD_TEST_CONCURRENCY", 64) as usize;
    let database = fresh_database().await;
    let db = PgPool::connect(&database_url(&database)).await.unwrap();
    let auth = AuthServer::start(&[&keys().es256]).await;
    let service = Arc::new(start_service(&database, &auth).await);

    let mut users = Vec::new();
    for _ in 0..concurrency {
        let id = sign_up(&db).await;
        users.push((id, auth.token(&keys().es256, id, json!({}))));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        // Under the service's keep-alive (actix's 5 s): a connection the server is
        // closing for idleness just as the client reuses it fails the request, a race
        // of the client's making that HTTP clients avoid this way. One request in 65,648
        // failed in a CI run (2026-12-03) with "error sending request" and no service
        // log, most likely this race; errors now carry their whole chain and timing.
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // Memory, sampled every second.
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let sampler = {
        let service = service.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < until {
                samples.push((started.elapsed().as_secs_f64(), service.rss_kib()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            samples
        })
    };
    let clients =
        futures_util::future::join_all(users.iter().enumerate().map(|(i, (_, token))| {
            tokio::spawn(client_loop(
                http.clone(),
                service.base.clone(),
                token.clone(),
                i as u64 + 1,
                until,
            ))
        }))
        .await;
    let samples = sampler.await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();

    // Zero errors.
    let mut requests = 0;
    let mut errors = Vec::new();
    let mut latencies = Vec::new();
    let mut outcomes = Vec::new();
    for client in clients {
        let (client, tally) = client.unwrap();
        requests += tally.requests;
        errors.extend(tally.errors);
        latencies.extend(tally.latencies_ms);
        outcomes.push(client);
    }
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = *latencies.last().unwrap();
    eprintln!(
        "load: {requests} requests in {elapsed:.0}s ({:.0}/s) from {concurrency} clients, p99 {p99} ms, max {max} ms, {} errors",
        requests as f64 / elapsed,
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} errors, first: {:#?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    assert!(requests as f64 / elapsed > 50.0, "the load was not load");

    // No acknowledged write lost, nothing unacknowledged stored, every mirror exact.
    for ((user, _), client) in users.iter().zip(&outcomes) {
        let favorites: BTreeSet<String> =
            sqlx::query_scalar::<_, String>("select machine_id from favorites where user_id = $1")
                .bind(user)
                .fetch_all(&db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(favorites, client.favorites, "favorites of {user}");
        let history: BTreeSet<Uuid> =
            sqlx::query_scalar::<_, Uuid>("select id from history where user_id = $1")
                .bind(user)
                .fetch_all(&db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(history, client.history, "history of {user}");
        assert_eq!(
            client.mirror_favorites, client.favorites,
            "synced favorites of {user}"
        );
        let synced: BTreeSet<String> = client.history.iter().map(Uuid::to_string).collect();
        assert_eq!(client.mirror_history, synced, "synced history of {user}");
    }

    // Memory: once warm (after the first quarter), the resident size stays flat.
    let rss_between = |from: f64, to: f64| -> u64 {
        let mut window: Vec<u64> = samples
            .iter()
            .filter(|(t, _)| *t >= from * elapsed && *t <= to * elapsed)
            .map(|(_, rss)| *rss)
            .collect();
        window.sort_unstable();
        window[window.len() / 2]
    };
    let warm = rss_between(0.25, 0.45);
    let end = rss_between(0.8, 1.0);
    let peak = samples.iter().map(|(_, rss)| *rss).max().unwrap();
    eprintln!("load: memory {warm} KiB warm, {end} KiB at the end, {peak} KiB peak");
    assert!(
        end <= warm + warm / 10 + 8 * 1024,
        "memory grew from {warm} KiB to {end} KiB"
    );
    assert!(peak < 256 * 1024, "peak {peak} KiB");
}
