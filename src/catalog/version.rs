//! Which catalog version an instance serves. Every admin change bumps
//! `catalog_state.version` in Postgres; each instance re-reads it at most every
//! `CATALOG_MAX_STALENESS_MS` (1000 ms), and everything derived from the catalog
//! belongs to one version, so no instance serves the catalog more than that bound after
//! a change was committed on any instance. While Postgres is unreachable, the last
//! version read keeps serving (the catalog cannot change then either).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::error::ApiResult;

pub struct Versions {
    max_staleness: Duration,
    started: Instant,
    /// The last catalog version read, and when (ms since `started`; 0 = never).
    version: AtomicI64,
    checked_at_ms: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
}

impl Versions {
    pub fn new(max_staleness: Duration) -> Self {
        Versions {
            max_staleness,
            started: Instant::now(),
            version: AtomicI64::new(-1),
            checked_at_ms: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn fresh_version(&self) -> Option<i64> {
        let checked = self.checked_at_ms.load(Ordering::Acquire);
        (checked != 0 && self.now_ms() - checked < self.max_staleness.as_millis() as u64)
            .then(|| self.version.load(Ordering::Acquire))
    }

    /// The catalog version, read from Postgres at most once per staleness bound.
    pub async fn version(&self, db: &Db) -> ApiResult<i64> {
        if let Some(version) = self.fresh_version() {
            return Ok(version);
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(version) = self.fresh_version() {
            return Ok(version);
        }
        match crate::db::machines::catalog_version(db).await {
            Ok(version) => {
                self.version.store(version, Ordering::Release);
                self.checked_at_ms.store(self.now_ms(), Ordering::Release);
                Ok(version)
            }
            Err(e) => match self.version.load(Ordering::Acquire) {
                -1 => Err(e.into()),
                last => {
                    tracing::warn!(error = %e, "catalog version unavailable; serving the last one read");
                    Ok(last)
                }
            },
        }
    }

    /// Makes the next request re-read the version (after a change made here).
    pub fn invalidate(&self) {
        self.checked_at_ms.store(0, Ordering::Release);
    }
}
