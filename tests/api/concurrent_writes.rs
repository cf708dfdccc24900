//! One user's writes queue on their own row (each takes the user's next sync version):
//! a burst of them must wait for turns of their own, not hold the pool's connections
//! while they wait, so another user's reads keep being served.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestApp, watching_most};

/// Connections of the service's that wait for a row lock right now.
async fn waiting_for_locks(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() \
         and pid <> pg_backend_pid() and wait_event_type = 'Lock'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// Runs `work`, watching meanwhile how many of the service's connections wait on a row
/// lock; returns what `work` gave and the most that waited at once.
async fn watching_lock_waits<T>(app: &Arc<TestApp>, work: impl Future<Output = T>) -> (T, i64) {
    watching_most(
        app,
        async |app: Arc<TestApp>| waiting_for_locks(&app).await,
        work,
    )
    .await
}

#[tokio::test]
async fn one_users_burst_of_writes_holds_no_more_than_its_turns_of_the_pool() {
    let app = Arc::new(TestApp::builder().auth().spawn().await);
    let hostile = app.sign_in().await;
    let other = app.sign_in().await;
    let batch = json!({"entries": (0..20).map(|_| json!({"machine_id": "leg_press", "source": "burst"})).collect::<Vec<_>>()});

    // 120 concurrent batches (the most a minute allows), while the other user reads.
    let burst = futures_util::future::join_all(
        (0..120).map(|_| app.add_history_batch(&hostile, batch.clone())),
    );
    let reads = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..40 {
            let started = Instant::now();
            let favorites = app.get_as("/api/v1/favorites", &other).await;
            assert_eq!(favorites.status(), 200);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    // Watch how many of the service's connections wait on the user's row.
    let ((answers, slowest), most) =
        watching_lock_waits(&app, async { tokio::join!(burst, reads) }).await;

    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert!(
        statuses.iter().all(|s| [201, 429].contains(s)),
        "the burst got {statuses:?}"
    );
    eprintln!(
        "writes: at most {most} connections waited on the user's row; the other user's slowest read {} ms",
        slowest.as_millis()
    );
    // One write holds the row; at most one more of the user's turns waits for it.
    assert!(
        most <= 1,
        "{most} pooled connections waited on one user's row"
    );
}

/// Adding favorites is a write like any other: a burst of them from one user waits for
/// that user's turns, so at most one pooled connection waits on their row at a time.
#[tokio::test]
async fn one_users_burst_of_favorite_adds_waits_for_its_turns() {
    let app = Arc::new(TestApp::builder().auth().spawn().await);
    let user = app.sign_in().await;
    let machines: Vec<String> = sqlx::query_scalar("select id from public.machines order by id")
        .fetch_all(&app.db)
        .await
        .unwrap();

    // Every machine twice at once: one add of each succeeds, the other finds it there.
    let (answers, most) = watching_lock_waits(
        &app,
        futures_util::future::join_all(
            machines
                .iter()
                .chain(machines.iter())
                .map(|machine| app.add_favorite(&user, machine)),
        ),
    )
    .await;

    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert!(
        statuses.iter().all(|s| [201, 409, 429].contains(s)),
        "the burst got {statuses:?}"
    );
    assert!(
        most <= 1,
        "{most} pooled connections waited on one user's row"
    );
}
