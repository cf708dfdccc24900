//! The pool: how connections are opened, checked and handed out, and the time each
//! statement is given.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{PgConnection, Postgres, SqlSafeStr, Transaction};
use tokio::runtime::{Handle, Runtime};

use super::health::{
    IDLE_BEFORE_PING, answers, connections_suspect, mark_connections_suspect, note, waited,
};
use super::query::Statements;
use super::worker_pools::{self, WorkerPools};
use crate::config::{DatabaseSettings, PoolMode};
use crate::telemetry::metrics::{Upstream, upstream_call};

/// The runtime that opens every pooled connection and hands it out.
///
/// A tokio socket belongs to the runtime it was opened on and stops working when that
/// runtime stops. Actix serves each worker on a runtime of its own, and after SIGTERM
/// a worker with nothing in flight stops at once while the others finish their
/// requests. A connection a stopped worker had opened would fail on first use ("A
/// Tokio 1.x context was found, but it is being shutdown") in whichever request took
/// it next. This runtime is never stopped (a static is never dropped), so connections
/// opened here serve any worker for the life of the process. Its one thread waits in
/// the pool's queue, opens connections and relays their sockets' readiness; the
/// queries themselves are still written and read by the requests' own tasks.
static CONNECTIONS: LazyLock<std::io::Result<Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("db-connections")
        .enable_all()
        .build()
});

/// The statement timeout a session-mode connection holds by default, for a pool whose
/// statements may run at most `ceiling` (the request deadline): an eighth less, so that a
/// statement sent in the first eighth of a request (the first 225 ms of the default
/// 1,800, when a read of the caller's rows is sent) ends by the deadline without a
/// timeout of its own ([`Db::session_timeout_fits`]), and one round trip is enough.
fn session_timeout(ceiling: Duration) -> Duration {
    ceiling - ceiling / 8
}

tokio::task_local! {
    /// When the request being served must be answered (`crate::deadline`).
    static REQUEST_DEADLINE: Instant;
}

/// Runs `f` (a request's handling) knowing its deadline: every statement it sends is
/// given only the time left, so a request answered 503 at its deadline leaves no query
/// running behind it (Postgres cancels it), and one user cannot pin the pool.
pub async fn within_deadline<F: Future>(deadline: Instant, f: F) -> F::Output {
    REQUEST_DEADLINE.scope(deadline, f).await
}

/// The pool plus what queries must know about how it reaches Postgres.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    persistent: bool,
    /// [`CONNECTIONS`]' handle: every checkout runs there.
    connections: Handle,
    /// The longest any statement may run (the request deadline when serving; none for
    /// migrations and the other commands).
    statement_timeout: Option<Duration>,
    /// The serving workers' own connections ([`Db::acquire`]).
    workers: Arc<WorkerPools>,
}

/// The HTTP workers an instance serves with: one per core, as actix's default. The pool
/// is split among them ([`Db::serving`]), so `startup` sets the same number.
pub fn server_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Db {
    /// Builds the pool without connecting: the service starts (and reports not-ready)
    /// while Postgres is down, and connects as soon as it is up. No statement timeout
    /// (migrations, seeding, tests' own queries): see [`Db::serving`].
    pub fn connect_lazy(settings: &DatabaseSettings) -> Result<Self, sqlx::Error> {
        Self::build(settings, None)
    }

    /// The pool the service serves requests with: no statement runs longer than
    /// `statement_timeout`, nor past the deadline of the request that sent it
    /// ([`within_deadline`]). Each of the [`server_workers`] may query on connections of
    /// its own, out of the same `DATABASE_MAX_CONNECTIONS` (`worker_pools`), once it has
    /// called [`Db::serve_from_this_thread`].
    pub fn serving(
        settings: &DatabaseSettings,
        statement_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        Self::build(settings, Some(statement_timeout))
    }

    fn build(
        settings: &DatabaseSettings,
        statement_timeout: Option<Duration>,
    ) -> Result<Self, sqlx::Error> {
        let workers = u32::try_from(server_workers()).unwrap_or(u32::MAX);
        let (each, shared) = match statement_timeout {
            Some(_) => worker_pools::split(settings.max_connections, workers),
            None => (0, settings.max_connections),
        };
        let connections = match &*CONNECTIONS {
            Ok(runtime) => runtime.handle().clone(),
            Err(e) => {
                return Err(sqlx::Error::Io(std::io::Error::new(
                    e.kind(),
                    e.to_string(),
                )));
            }
        };
        let options: PgConnectOptions = settings.url.expose_secret().parse()?;
        let options = options.application_name("machinemate-api");
        // A CA given checks the server's certificate and host name (config::database_tls).
        let options = match &settings.ca_cert {
            None => options,
            Some(pem) => {
                let verify_ca_only = matches!(options.get_ssl_mode(), PgSslMode::VerifyCa);
                let options = options.ssl_root_cert_from_pem(pem.clone().into_bytes());
                options.ssl_mode(if verify_ca_only {
                    PgSslMode::VerifyCa
                } else {
                    PgSslMode::VerifyFull
                })
            }
        };
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
            // `health::mark_connections_suspect`), every connection is checked as it
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
            // A session's own connection (session mode) holds `session_timeout` as its
            // default; behind a transaction pooler every transaction sets its own
            // (`begin`).
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if let (Some(limit), false) = (statement_timeout, transaction_mode) {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SET statement_timeout = {}",
                            session_timeout(limit).as_millis().max(1)
                        )))
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .max_connections(shared)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .max_lifetime(Some(Duration::from_secs(30 * 60)))
            .connect_lazy_with(options);
        Ok(Db {
            pool,
            persistent: !transaction_mode,
            connections,
            statement_timeout,
            workers: Arc::new(WorkerPools::new(each, workers)),
        })
    }

    /// Lets the current thread (an HTTP worker: `startup` calls this from each
    /// worker's app factory) query on connections of its own ([`Db::acquire`]).
    pub fn serve_from_this_thread(&self) {
        WorkerPools::enter(&self.workers);
    }

    /// The pool a request's checkout should take from: on an HTTP worker, its own when
    /// one of its connections is idle or may still be opened (on the worker's runtime,
    /// so its socket wakes the thread that waits for it), else the shared pool while
    /// that has one to give, else its own again, to wait there for the first of its
    /// connections to come back (on its own thread, rather than in the shared pool's
    /// queue on [`CONNECTIONS`]). `None`: the shared pool (not a worker, or no worker
    /// pools).
    fn workers_own(&self) -> Option<PgPool> {
        let each = self.workers.each;
        let mine = WorkerPools::mine(&self.workers, || {
            self.pool
                .options()
                .clone()
                .max_connections(each)
                .connect_lazy_with((*self.pool.connect_options()).clone())
        })?;
        let shared_free = self.pool.num_idle() > 0
            || self.pool.size() < self.pool.options().get_max_connections();
        (mine.num_idle() > 0 || mine.size() < each || !shared_free).then_some(mine)
    }

    /// Connections open and idle, shared and the workers' own, and the most there may be.
    pub fn pool_gauges(&self) -> crate::telemetry::metrics::PoolGauges {
        let (size, idle) = self.workers.gauges();
        crate::telemetry::metrics::PoolGauges {
            size: self.pool.size() + size,
            idle: self.pool.num_idle() + idle,
            max: self.pool.options().get_max_connections() + self.workers.most(),
        }
    }

    /// How long the next statement may run: what is left of the current request's
    /// deadline, within the pool's ceiling (at least a millisecond, so a request already
    /// past its deadline fails at once); `None` when statements have no timeout.
    pub fn statement_budget(&self) -> Option<Duration> {
        let ceiling = self.statement_timeout?;
        let left = REQUEST_DEADLINE
            .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
            .unwrap_or(ceiling);
        Some(left.min(ceiling).max(Duration::from_millis(1)))
    }

    /// True when a statement sent now, with no timeout of its own, ends by the request's
    /// deadline anyway: the connection's default ([`session_timeout`], session mode) is
    /// within the time left, or statements have no timeout at all. Behind a transaction
    /// pooler connections hold no default, so every statement must set its own.
    pub fn session_timeout_fits(&self) -> bool {
        match (self.statement_timeout, self.statement_budget()) {
            (None, _) | (_, None) => true,
            (Some(_), Some(_)) if !self.persistent => false,
            (Some(ceiling), Some(left)) => left >= session_timeout(ceiling),
        }
    }

    /// `SET LOCAL statement_timeout = <budget>` for a transaction's first message, or
    /// nothing.
    fn local_timeout(&self) -> String {
        self.statement_budget()
            .map(|t| format!("SET LOCAL statement_timeout = {}; ", t.as_millis()))
            .unwrap_or_default()
    }

    /// The pool itself, for migrations and the pool's gauges. Requests check
    /// connections out through [`Db::acquire`], [`Db::begin`] and [`Db::with_conn`].
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A pooled connection: on an HTTP worker one of its own when it has one to give
    /// (`workers_own`), otherwise a shared one, opened (when the pool opens one) on
    /// [`CONNECTIONS`]. The pool's checks (`before_acquire`) apply to both.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.take(|pool| async move { pool.acquire().await }).await
    }

    /// Runs `take` (a checkout) on the pool a request should take from (`workers_own`):
    /// on this thread for the worker's own, on [`CONNECTIONS`] for the shared one.
    async fn take<T: Send + 'static, Fut>(
        &self,
        take: impl FnOnce(PgPool) -> Fut,
    ) -> Result<T, sqlx::Error>
    where
        Fut: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    {
        match self.workers_own() {
            Some(own) => take(own).await,
            None => self.checkout(take(self.pool.clone())).await,
        }
    }

    /// A transaction on a pooled connection (commit it, or it rolls back on drop); its
    /// statements get the request's time left ([`Db::statement_budget`]).
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let timeout = self.local_timeout();
        if timeout.is_empty() {
            return self.take(|pool| async move { pool.begin().await }).await;
        }
        self.begin_with(sqlx::AssertSqlSafe(format!("BEGIN; {timeout}")))
            .await
    }

    /// A transaction opened with `statement` instead of a bare `BEGIN`, in the same
    /// round trip, on a connection [`Db::acquire`] would give.
    pub async fn begin_with(
        &self,
        statement: impl SqlSafeStr + Send + 'static,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.take(|pool| async move { pool.begin_with(statement).await })
            .await
    }

    /// Runs a checkout of the shared pool on [`CONNECTIONS`]. When the caller gives up waiting (its
    /// request was cancelled), the checkout still ends there, within the pool's acquire
    /// timeout, and its connection goes straight back to the pool.
    async fn checkout<T: Send + 'static>(
        &self,
        checkout: impl Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    ) -> Result<T, sqlx::Error> {
        match self.connections.spawn(checkout).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a stopping runtime cancels its tasks, and this one never stops.
            Err(_) => Err(sqlx::Error::PoolClosed),
        }
    }

    /// Runs `f` on a pooled connection. Behind a transaction-mode pooler the extended
    /// protocol's two round trips (prepare, then execute) may otherwise land on two
    /// different server connections, so there `f` runs inside a transaction, which pins
    /// one server connection until commit.
    pub async fn with_conn<T>(
        &self,
        f: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let result = postgres_call(async {
            let started = Instant::now();
            if self.persistent {
                let conn = self.acquire().await;
                waited(started, conn.is_ok());
                let mut conn = conn?;
                f(&mut conn).await
            } else {
                let tx = self.begin().await;
                waited(started, tx.is_ok());
                let mut tx = tx?;
                let value = f(&mut tx).await?;
                tx.commit().await.map(|()| value)
            }
        })
        .await;
        note(&result);
        result
    }

    /// True when Postgres answers `select 1` within `bound` (one simple query, which
    /// any pooler passes through). A failure marks pooled connections suspect, so the
    /// pool weeds out the dead ones.
    pub async fn ping(&self, bound: Duration) -> bool {
        let probe = async {
            let mut conn = self.acquire().await?;
            sqlx::raw_sql("select 1").execute(&mut *conn).await
        };
        let answered = matches!(tokio::time::timeout(bound, probe).await, Ok(Ok(_)));
        if !answered {
            mark_connections_suspect();
        }
        answered
    }
}

/// Runs `call`, one call to Postgres (a checkout and what is done with it), counted and
/// timed in `upstream_calls_total` and `upstream_call_duration_seconds`. Every call a
/// request makes goes through here: [`Db::with_conn`], `UserTx::read` and `UserTx::run`.
pub(super) async fn postgres_call<T, E>(call: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    let started = Instant::now();
    let result = call.await;
    upstream_call(Upstream::Postgres, started, result.is_ok());
    result
}

impl Statements for Db {
    fn persistent(&self) -> bool {
        self.persistent
    }
}
