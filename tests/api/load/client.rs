//! One client of the load: a user on one device, doing what the app does at random, and
//! keeping what it was told (acknowledged writes, its sync mirror) to be checked after.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::calls::{Rng, Run, Tally};

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

/// What one client (one user, one device) knows it did, and what it saw.
#[derive(Default)]
pub struct Client {
    pub favorites: BTreeSet<String>,
    pub history: BTreeSet<Uuid>,
    /// The device's copy, built from sync alone.
    pub mirror_favorites: BTreeSet<String>,
    pub mirror_history: BTreeSet<String>,
    cursor: Option<String>,
    etags: BTreeMap<String, String>,
}

pub async fn client_loop(
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
    // A reset answer starts from nothing: the device drops what it held.
    if body["reset"] == true {
        me.mirror_favorites.clear();
        me.mirror_history.clear();
    }
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
