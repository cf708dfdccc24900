//! Two minutes of mixed traffic at high concurrency against the real binary: catalog
//! reads and searches (with revalidation), favorites written and read, history written
//! (single and batch, with client ids and idempotency keys) and read, sync with
//! cursors, profiles. Every answer must be the expected one (zero errors), every write
//! the service acknowledged must be in the database afterwards (and nothing else), each
//! device's sync mirror must equal the database, and the process's memory must stay
//! flat once warm. Through the middle third, hostile clients attack ([`hostile`]): the
//! report gives other users' p99 during the attacks and outside them.
//!
//! `#[ignore]`d in the plain suite (it takes minutes and saturates both cores); run by
//! `.ci/run` through `scripts/load-test`. `LOAD_TEST_SECS` sets the duration (120 in
//! CI), `LOAD_TEST_CONCURRENCY` the number of clients (64).

mod calls;
mod client;
mod hostile;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::TestApp;
use crate::stand_ins::fireworks::says;
use client::client_loop;
use hostile::{Window, p99};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of load: run by .ci/run through scripts/load-test (LOAD_TEST_SECS)"]
async fn mixed_traffic_at_high_concurrency_loses_nothing_and_memory_stays_flat() {
    let seconds = env_number("LOAD_TEST_SECS", 120);
    let concurrency = env_number("LOAD_TEST_CONCURRENCY", 64) as usize;
    let app = Arc::new(
        TestApp::builder()
            .auth()
            .fireworks(says("leg press", 0.9))
            .env(("IDENTIFY_DAILY_LIMIT", "100000"))
            // The global model budget must hold at least one caller's allowance.
            .env(("IDENTIFY_MODEL_DAILY_CALLS", "1000000"))
            .spawn_process()
            .await,
    );
    let (trickler, bomber, canary) = (
        app.sign_in().await,
        app.sign_in().await,
        app.sign_in().await,
    );

    let mut users = Vec::new();
    for _ in 0..concurrency {
        users.push(app.sign_up_and_in().await);
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

    let bomb = hostile::bomb();
    // Memory, sampled every second.
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let sampler = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < until {
                samples.push((started.elapsed().as_secs_f64(), app.process().rss_kib()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            samples
        })
    };
    let window = Window {
        from: started + Duration::from_secs(seconds / 3),
        to: started + Duration::from_secs(2 * seconds / 3),
    };
    let attacks = {
        let app = app.clone();
        tokio::spawn(async move { hostile::attack(&app, (&trickler, &bomber), bomb, window).await })
    };
    let canary = {
        let app = app.clone();
        tokio::spawn(async move { hostile::canary(&app, &canary, until).await })
    };
    let clients =
        futures_util::future::join_all(users.iter().enumerate().map(|(i, (_, token))| {
            tokio::spawn(client_loop(
                http.clone(),
                app.address.clone(),
                token.clone(),
                i as u64 + 1,
                until,
            ))
        }))
        .await;
    let samples = sampler.await.unwrap();
    let attacks = attacks.await.unwrap();
    let canary = canary.await.unwrap();
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
    let (during, outside): (Vec<_>, Vec<_>) =
        latencies.iter().partition(|(at, _)| window.holds(*at));
    let ms = |pairs: Vec<&(Instant, u32)>| pairs.into_iter().map(|(_, ms)| *ms).collect::<Vec<_>>();
    let (p99_during, p99_outside) = (p99(ms(during)), p99(ms(outside)));
    let all: Vec<u32> = latencies.iter().map(|(_, ms)| *ms).collect();
    let max = all.iter().copied().max().unwrap_or(0);
    eprintln!(
        "load: {requests} requests in {elapsed:.0}s ({:.0}/s) from {concurrency} clients, p99 {} ms, max {max} ms, {} errors",
        requests as f64 / elapsed,
        p99(all),
        errors.len()
    );
    let (canary_during, canary_outside): (Vec<_>, Vec<_>) =
        canary.iter().partition(|(at, _, _)| window.holds(*at));
    let canary_ms =
        |seen: &[&(Instant, u32, u16)]| seen.iter().map(|(_, ms, _)| *ms).collect::<Vec<_>>();
    eprintln!(
        "load: during the attacks ({} trickling uploads opened, {} scan bombs refused) other users' p99 {p99_during} ms \
         (outside them {p99_outside} ms); identifications p99 {} ms during, {} ms outside ({} in all)",
        attacks.trickles_opened,
        attacks.bombs_refused,
        p99(canary_ms(&canary_during)),
        p99(canary_ms(&canary_outside)),
        canary.len()
    );
    assert!(
        canary.iter().all(|(_, _, status)| *status == 200),
        "the canary's identifications: {:?}",
        canary.iter().map(|(_, _, s)| s).collect::<Vec<_>>()
    );
    assert!(
        attacks.bombs_refused > 0 && attacks.bombs_otherwise.is_empty(),
        "{attacks:?}"
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
                .fetch_all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(favorites, client.favorites, "favorites of {user}");
        let history: BTreeSet<Uuid> =
            sqlx::query_scalar::<_, Uuid>("select id from history where user_id = $1")
                .bind(user)
                .fetch_all(&app.db)
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
