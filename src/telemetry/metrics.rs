//! Prometheus metrics, served at `GET /metrics` (bearer `METRICS_TOKEN` or an admin).
//!
//! One process-wide registry: the counters describe the process, whatever number of
//! `Application`s it runs (tests run many; a deployment runs one).

use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Request latencies: 1 ms to the app's 30 s timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Waiting for a pooled connection: 100 µs up to the acquire timeout.
const WAIT_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0];

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub in_flight: IntGauge,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    pool_wait: Histogram,
    upstream_calls: IntCounterVec,
    upstream_duration: HistogramVec,
    identifications: IntCounterVec,
    corrections: IntCounterVec,
    quota_refusals: IntCounterVec,
    cache_lookups: IntCounterVec,
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl Metrics {
    fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("machinemate".into()), None).expect("a valid prefix");
        let r = &registry;
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("metric names are unique");
        let build = register(
            r,
            IntGaugeVec::new(
                Opts::new("build_info", "The running build (always 1)"),
                &["version"],
            )
            .unwrap(),
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Metrics {
            http_requests: register(
                r,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests answered"),
                    &["method", "route", "status"],
                )
                .unwrap(),
            ),
            http_duration: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time from request to response headers",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["method", "route"],
                )
                .unwrap(),
            ),
            in_flight: register(
                r,
                IntGauge::new("http_requests_in_flight", "HTTP requests being served").unwrap(),
            ),
            pool_connections: register(
                r,
                IntGaugeVec::new(
                    Opts::new("db_pool_connections", "Database pool connections by state"),
                    &["state"],
                )
                .unwrap(),
            ),
            pool_max: register(
                r,
                IntGauge::new("db_pool_max_connections", "Database pool size limit").unwrap(),
            ),
            pool_wait: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "db_pool_wait_seconds",
                        "Time to obtain a pooled database connection (with BEGIN where one is sent)",
                    )
                    .buckets(WAIT_BUCKETS.to_vec()),
                )
                .unwrap(),
            ),
            upstream_calls: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "upstream_calls_total",
                        "Calls to Postgres, the JWKS, Fireworks and storage, by outcome",
                    ),
                    &["upstream", "outcome"],
                )
                .unwrap(),
            ),
            upstream_duration: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new("upstream_call_duration_seconds", "Upstream call latency")
                        .buckets(LATENCY_BUCKETS.to_vec()),
                    &["upstream"],
                )
                .unwrap(),
            ),
            identifications: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "identifications_total",
                        "Identifications by outcome, prompt variant and model",
                    ),
                    &["outcome", "variant", "model"],
                )
                .unwrap(),
            ),
            corrections: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "identification_corrections_total",
                        "Identifications users said were wrong, by prompt variant and model",
                    ),
                    &["variant", "model"],
                )
                .unwrap(),
            ),
            quota_refusals: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "identify_quota_refusals_total",
                        "Identifications refused because a daily quota was spent",
                    ),
                    &["holder"],
                )
                .unwrap(),
            ),
            cache_lookups: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "cache_lookups_total",
                        "Cache lookups (catalog pages, verified tokens, identifications)",
                    ),
                    &["cache", "result"],
                )
                .unwrap(),
            ),
            registry,
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// One answered request. Every label has a small, fixed set of values: `route` is the
/// matched template (`/api/v1/machines/{id}`, never the raw path), `status` one the
/// service wrote, and `method` one of HTTP's standard methods or `other` (a client may
/// send any token as a method, and each new label value is a series kept for good).
pub fn http_request(method: &actix_web::http::Method, route: &str, status: u16, seconds: f64) {
    let m = metrics();
    let method = method_label(method);
    m.http_requests
        .with_label_values(&[method, route, &status.to_string()])
        .inc();
    m.http_duration
        .with_label_values(&[method, route])
        .observe(seconds);
}

/// The `method` label: a standard method's name, else `other`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// An upstream's names, as labels.
#[derive(Clone, Copy, Debug)]
pub enum Upstream {
    Postgres,
    Jwks,
    Fireworks,
    Storage,
    /// Supabase Auth's admin API (account deletion).
    AuthAdmin,
}

impl Upstream {
    fn label(self) -> &'static str {
        match self {
            Upstream::Postgres => "postgres",
            Upstream::Jwks => "jwks",
            Upstream::Fireworks => "fireworks",
            Upstream::Storage => "storage",
            Upstream::AuthAdmin => "auth_admin",
        }
    }
}

/// One call to an upstream that began at `started`.
pub fn upstream_call(upstream: Upstream, started: Instant, ok: bool) {
    let m = metrics();
    let outcome = if ok { "ok" } else { "error" };
    m.upstream_calls
        .with_label_values(&[upstream.label(), outcome])
        .inc();
    m.upstream_duration
        .with_label_values(&[upstream.label()])
        .observe(started.elapsed().as_secs_f64());
}

/// Time spent waiting for a pooled connection.
pub fn pool_wait(started: Instant) {
    metrics().pool_wait.observe(started.elapsed().as_secs_f64());
}

#[derive(Clone, Copy, Debug)]
pub enum Cache {
    Catalog,
    Token,
    Identify,
}

pub fn cache_lookup(cache: Cache, hit: bool) {
    let name = match cache {
        Cache::Catalog => "catalog",
        Cache::Token => "token",
        Cache::Identify => "identify",
    };
    metrics()
        .cache_lookups
        .with_label_values(&[name, if hit { "hit" } else { "miss" }])
        .inc();
}

/// One identification: `matched`, `unknown`, `cached`, `mocked`, `unavailable` or
/// `rejected`, with the caller's prompt variant and the model it runs on.
pub fn identification(outcome: &str, variant: &str, model: &str) {
    metrics()
        .identifications
        .with_label_values(&[outcome, variant, model])
        .inc();
}

/// A user said an identification was wrong (the variant and model that made it).
pub fn correction(variant: &str, model: &str) {
    metrics()
        .corrections
        .with_label_values(&[variant, model])
        .inc();
}

/// `user` or `address`.
pub fn quota_refusal(holder: &str) {
    metrics().quota_refusals.with_label_values(&[holder]).inc();
}

/// The database pool's gauges, read as the metrics are rendered.
#[derive(Clone, Copy, Debug)]
pub struct PoolGauges {
    /// Connections open.
    pub size: u32,
    /// Of which idle.
    pub idle: usize,
    /// The most there may be.
    pub max: u32,
}

impl From<&sqlx::PgPool> for PoolGauges {
    fn from(pool: &sqlx::PgPool) -> Self {
        PoolGauges {
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        }
    }
}

/// The exposition text, with the pool's gauges read now.
pub fn render(pool: impl Into<PoolGauges>) -> String {
    let m = metrics();
    let pool = pool.into();
    let size = i64::from(pool.size);
    let idle = pool.idle as i64;
    m.pool_connections.with_label_values(&["idle"]).set(idle);
    m.pool_connections
        .with_label_values(&["in_use"])
        .set((size - idle).max(0));
    m.pool_max.set(i64::from(pool.max));
    let mut out = Vec::with_capacity(16 * 1024);
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}
