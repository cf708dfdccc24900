//! Whether pooled connections can be trusted: a bounded ping, and a process-wide flag
//! raised when a connection stopped answering, which makes the pool check every
//! connection it hands out for a while ([`super::pool`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::PgConnection;

/// Pooled connections idle longer than this are pinged before use.
pub(super) const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);
/// How long a connection check may take before the connection is taken for dead.
const PING_BOUND: Duration = Duration::from_millis(500);

/// Whether `conn` answers a ping within [`PING_BOUND`]. sqlx's own ping has no bound:
/// on a black-holed path (no FIN, no RST) it waits until TCP gives up, minutes later,
/// holding a pool slot all the while.
pub(super) async fn answers(conn: &mut PgConnection) -> bool {
    use sqlx::Connection;
    matches!(
        tokio::time::timeout(PING_BOUND, conn.ping()).await,
        Ok(Ok(()))
    )
}

/// How long pooled connections stay suspect after one stopped answering.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Records that a database connection stopped answering (a request ran past its
/// deadline, or the readiness probe past its bound): for a while, the pool checks each
/// connection, with a bound, as it hands it out and takes it back (`super::pool`),
/// so connections left dead by the incident are closed instead of failing requests.
pub fn mark_connections_suspect() {
    SUSPECT_UNTIL_MS.fetch_max(now_ms() + SUSPECT_FOR.as_millis() as u64, Ordering::Relaxed);
}

/// Whether a connection stopped answering recently (see [`mark_connections_suspect`]).
/// One atomic load: the pool asks on every acquire and release.
pub fn connections_suspect() -> bool {
    SUSPECT_UNTIL_MS.load(Ordering::Relaxed) > now_ms()
}

/// Marks pooled connections suspect when `result` says the server ended a connection
/// (a restart, a failover): the rest of the pool is as dead, and checking each as it is
/// handed out costs the next requests a ping instead of a 503 each.
pub(super) fn note<T>(result: &Result<T, sqlx::Error>) {
    if let Err(e) = result
        && crate::error::connection_ended_by_server(e)
    {
        mark_connections_suspect();
    }
}

/// A wait for a pooled connection this long is logged (`slow database checkout`, the
/// `pool-waits` log-based metric): on Cloud Run nothing scrapes the histogram.
const SLOW_CHECKOUT: Duration = Duration::from_millis(100);

/// Counts a wait for a pooled connection that began at `started`, and logs it when
/// slow, with whether a connection was had.
pub(super) fn waited(started: std::time::Instant, acquired: bool) {
    crate::telemetry::metrics::pool_wait(started);
    let waited = started.elapsed();
    if waited >= SLOW_CHECKOUT {
        let wait_ms = (waited.as_secs_f64() * 1e6).round() / 1e3;
        let outcome = if acquired { "acquired" } else { "failed" };
        tracing::warn!(wait_ms, outcome, "slow database checkout");
    }
}
