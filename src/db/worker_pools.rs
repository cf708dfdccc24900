//! Each actix worker's own connections, for the queries of the requests it serves.
//!
//! A connection's socket wakes the runtime it was opened on. The shared pool's are
//! opened on a runtime of their own (`CONNECTIONS` in `pool.rs`, so that no worker
//! stopping at shutdown breaks them for the others), so every exchange on one is a
//! wake-up of that runtime's thread and then of the worker's: about a third of a
//! favorites list's CPU was the kernel switching threads. A worker's own connections
//! are opened on the worker's runtime when it first needs one, and only that worker
//! (its requests, and the tasks they spawn there) uses them, so their sockets wake the
//! thread that waits for them; they end with it. docs/performance.md has the figures.
//!
//! They come out of `DATABASE_MAX_CONNECTIONS`: a quarter of it (at least one) stays
//! shared, and each of the W workers may open an equal part of the rest (none when that
//! is under two), so the instance never holds more than configured. A checkout on a
//! worker (`Db::acquire`, `Db::begin`) takes one of the worker's own when one is idle or
//! may still be opened, otherwise a shared one while the shared pool has one to give, and
//! otherwise waits for one of its own: a burst on one worker is not held to its part
//! while the shared pool is idle, and under full load every request waits on its own
//! thread. Threads that are not workers (the `maintain` command, migrations) use only
//! the shared pool. The pool's checks apply to both (the same options: a connection
//! idle for a while, or while connections are suspect, is checked as it is handed out).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use sqlx::PgPool;

/// The worker pools of one serving `Db` (tests run several in one process).
#[derive(Debug, Default)]
pub(super) struct WorkerPools {
    /// Connections each worker may open (0: none, every checkout uses the shared pool).
    pub(super) each: u32,
    /// The workers that may open them.
    workers: u32,
    /// The pools of the workers alive, by entry, for the pool's gauges.
    opened: Mutex<Vec<(u64, PgPool)>>,
}

/// One thread's pool of one `Db`'s, opened on first use.
struct Mine {
    id: u64,
    /// A `Weak` also keeps the `WorkerPools`' address from being reused by another
    /// while the entry lives.
    owner: Weak<WorkerPools>,
    pool: Option<PgPool>,
}

/// When a worker's thread ends (at shutdown, or when actix replaces a worker that
/// panicked), its pool leaves the gauges and, with its last handle gone, its
/// connections close: none is left open that nothing could use or reap.
impl Drop for Mine {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.upgrade() {
            owner.opened().retain(|(id, _)| *id != self.id);
        }
    }
}

thread_local! {
    /// This thread's worker pools, one per `Db` it serves; they end with the thread.
    static MINE: RefCell<Vec<Mine>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// How many connections each of `workers` may open of `max`, and what is left shared.
pub(super) fn split(max: u32, workers: u32) -> (u32, u32) {
    let kept = (max / 4).max(1);
    let each = max.saturating_sub(kept) / workers.max(1);
    let each = if each < 2 { 0 } else { each };
    (each, max - each * workers)
}

impl WorkerPools {
    pub(super) fn new(each: u32, workers: u32) -> Self {
        WorkerPools {
            each,
            workers,
            opened: Mutex::new(Vec::new()),
        }
    }

    /// The most connections all the workers may hold.
    pub(super) fn most(&self) -> u32 {
        self.each * self.workers
    }

    fn opened(&self) -> MutexGuard<'_, Vec<(u64, PgPool)>> {
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the current thread as one of `pools`' workers.
    pub(super) fn enter(pools: &Arc<WorkerPools>) {
        if pools.each == 0 {
            return;
        }
        MINE.with_borrow_mut(|mine| {
            mine.retain(|entry| entry.owner.strong_count() > 0);
            if !mine
                .iter()
                .any(|entry| entry.owner.as_ptr() == Arc::as_ptr(pools))
            {
                mine.push(Mine {
                    id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                    owner: Arc::downgrade(pools),
                    pool: None,
                });
            }
        });
    }

    /// The current thread's pool of `pools`, opened with `open` the first time; `None`
    /// on a thread that is not one of its workers.
    pub(super) fn mine(pools: &Arc<WorkerPools>, open: impl FnOnce() -> PgPool) -> Option<PgPool> {
        MINE.with_borrow_mut(|mine| {
            let entry = mine
                .iter_mut()
                .find(|entry| entry.owner.as_ptr() == Arc::as_ptr(pools))?;
            let id = entry.id;
            Some(
                entry
                    .pool
                    .get_or_insert_with(|| {
                        let pool = open();
                        pools.opened().push((id, pool.clone()));
                        pool
                    })
                    .clone(),
            )
        })
    }

    /// Connections open and idle across the workers' pools.
    pub(super) fn gauges(&self) -> (u32, usize) {
        self.opened()
            .iter()
            .fold((0, 0), |(size, idle), (_, pool)| {
                (size + pool.size(), idle + pool.num_idle())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn the_workers_share_comes_out_of_the_configured_total() {
        // The default pool on two cores: four each, two shared.
        assert_eq!(split(10, 2), (4, 2));
        // One core (Cloud Run's default instance): eight of its own, two shared.
        assert_eq!(split(10, 1), (8, 2));
        // The tests' pools of four per worker: three each, one per worker shared.
        assert_eq!(split(8, 2), (3, 2));
        assert_eq!(split(4, 1), (3, 1));
        // A small pool is all shared: a worker's share of one connection would leave
        // a burst on that worker to the shared pool anyway.
        assert_eq!(split(3, 2), (0, 3));
        assert_eq!(split(1, 1), (0, 1));
        for max in 1..=500 {
            for workers in 1..=16 {
                let (each, shared) = split(max, workers);
                assert_eq!(each * workers + shared, max, "{max} over {workers}");
                assert!(
                    shared >= (max / 4).max(1),
                    "{max} over {workers}: {shared} shared"
                );
            }
        }
    }
}
