//! Postgres access: the pool, migrations, the RLS-scoped user transaction, and the
//! SQL for each resource in small functions.

pub mod curation;
pub mod favorites;
pub mod history;
pub mod identify;
pub mod machines;
pub mod media;
pub mod metrics;
pub mod migrate;
pub mod rls;
pub mod sync;
pub mod users;

use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::{DatabaseSettings, PoolMode};
use crate::deadline::{connections_suspect, mark_connections_suspect};
use crate::telemetry::metrics::{Upstream, pool_wait, upstream_call};

/// Pooled connections idle longer than this are pinged before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);
/// How long a connection check may take before the connection is taken for dead.
const PING_BOUND: Duration = Duration::from_millis(500);

/// Whether `conn` answers a ping within [`PING_BOUND`]. sqlx's own ping has no bound:
/// on a black-holed path (no FIN, no RST) it waits until TCP gives up, minutes later,
/// holding a pool slot all the while.
async fn answers(conn: &mut PgConnection) -> bool {
    use sqlx::Connection;
    matches!(
        tokio::time::timeout(PING_BOUND, conn.ping()).await,
        Ok(Ok(()))
    )
}

/// How many times [`Db::with_conn`] moves on from connections of a stopped worker.
const STOPPED_RUNTIME_RETRIES: u32 = 3;

/// Whether `e` is tokio refusing I/O on a socket whose runtime is stopping. Actix runs
/// each worker on a runtime of its own, and a pooled connection's socket belongs to
/// the runtime that opened it. After SIGTERM a worker with nothing in flight stops at
/// once, and its connections then fail on first use, before anything is sent, even
/// when a worker still finishing requests takes them from the pool.
pub fn opened_by_stopped_runtime(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(io)
        if io.to_string().contains("context was found, but it is being shutdown"))
}

/// The pool plus what queries must know about how it reaches Postgres.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    persistent: bool,
}

impl Db {
    /// Builds the pool without connecting: the service starts (and reports not-ready)
    /// while Postgres is down, and connects as soon as it is up.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Result<Self, sqlx::Error> {
        let options: PgConnectOptions = settings.url.expose_secret().parse()?;
        let options = options.application_name("machinemate-api");
        let transaction_mode = settings.pool_mode == PoolMode::Transaction;
        let options = if transaction_mode {
            // A transaction-mode pooler hands each transaction any server connection, so
            // named prepared statements cannot be kept between them.
            options.statement_cache_capacity(0)
        } else {
            options
        };
        let pool = PgPoolOptions::new()
            // sqlx's default pings every connection on every acquire: a round trip per
            // request. Only connections idle for a while (the ones a restart or a
            // network blip may have broken) are checked.
            // While connections are suspect (one stopped answering in the last 30 s, see
            // `deadline::mark_connections_suspect`), every connection is checked as it
            // is handed out and as it comes back, and the silent ones are closed instead
            // of failing requests or wedging the pool; otherwise that costs one atomic
            // load.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    let check = meta.idle_for > IDLE_BEFORE_PING || connections_suspect();
                    Ok(!check || answers(conn).await)
                })
            })
            .after_release(|conn, _meta| {
                Box::pin(async move { Ok(!connections_suspect() || answers(conn).await) })
            })
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .max_lifetime(Some(Duration::from_secs(30 * 60)))
            .connect_lazy_with(options);
        Ok(Db {
            pool,
            persistent: !transaction_mode,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether statements may be prepared by name and cached (false behind a
    /// transaction-mode pooler). Pass to every query's `.persistent(..)`.
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// Runs `f` on a pooled connection. Behind a transaction-mode pooler the extended
    /// protocol's two round trips (prepare, then execute) may otherwise land on two
    /// different server connections, so there `f` runs inside a transaction, which pins
    /// one server connection until commit.
    ///
    /// `f` runs again on another connection when the one it got belonged to a stopped
    /// worker (see [`opened_by_stopped_runtime`]): that fails before anything is sent.
    pub async fn with_conn<T>(
        &self,
        f: impl AsyncFn(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let started = Instant::now();
        let mut tries = 0;
        let result = loop {
            let result = self.once(&f, started).await;
            match result {
                Err(e) if opened_by_stopped_runtime(&e) && tries < STOPPED_RUNTIME_RETRIES => {
                    // Have the pool check connections as it hands them out, so the
                    // stopped worker's other connections are closed rather than tried.
                    mark_connections_suspect();
                    tracing::warn!(
                        "a pooled connection belonged to a stopped worker; retrying on another"
                    );
                    tries += 1;
                }
                result => break result,
            }
        };
        upstream_call(Upstream::Postgres, started, result.is_ok());
        result
    }

    async fn once<T>(
        &self,
        f: &impl AsyncFn(&mut PgConnection) -> Result<T, sqlx::Error>,
        started: Instant,
    ) -> Result<T, sqlx::Error> {
        if self.persistent {
            let conn = self.pool.acquire().await;
            pool_wait(started);
            let mut conn = conn?;
            let result = f(&mut conn).await;
            if result.as_ref().is_err_and(opened_by_stopped_runtime) {
                conn.close_on_drop();
            }
            result
        } else {
            let tx = self.pool.begin().await;
            pool_wait(started);
            let mut tx = tx?;
            let value = f(&mut tx).await?;
            tx.commit().await.map(|()| value)
        }
    }

    /// True when Postgres answers `select 1` within `bound` (one simple query, which
    /// any pooler passes through). A failure marks pooled connections suspect, so the
    /// pool weeds out the dead ones.
    pub async fn ping(&self, bound: Duration) -> bool {
        let probe = sqlx::raw_sql("select 1").execute(&self.pool);
        let answered = matches!(tokio::time::timeout(bound, probe).await, Ok(Ok(_)));
        if !answered {
            mark_connections_suspect();
        }
        answered
    }
}
