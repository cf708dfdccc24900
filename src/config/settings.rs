//! What configuration holds, section by section, each field named by its variable.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::kinds::{Environment, FeaturesOff, LogFormat, PoolMode};
use super::problem::ConfigError;

#[derive(Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`: the Postgres URL, password included (secret).
    pub url: SecretString,
    /// `DATABASE_CA_CERT`: the PEM of the CA that signs the database server's
    /// certificate; when set, the certificate and host name are checked (`verify-full`,
    /// or `verify-ca` if the URL says so). Required on Cloud Run unless the URL verifies
    /// with its own `sslrootcert` (see `database_tls`).
    pub ca_cert: Option<String>,
    /// `DATABASE_POOL_MODE`: `session` (default) or `transaction`.
    pub pool_mode: PoolMode,
    /// `DATABASE_MAX_CONNECTIONS`: pool size per instance (default 10).
    pub max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: longest wait for a pooled connection, including
    /// opening a new one (default 1500: with the database down, every route answers 503
    /// within two seconds).
    pub acquire_timeout: Duration,
    /// `MIGRATION_LOCK_TIMEOUT_MS`, `MIGRATION_STATEMENT_TIMEOUT_MS`: how long `migrate`
    /// lets any one statement wait for a lock (default 5000) and run (default 300000);
    /// see `db::migrate::limits`.
    pub migration_limits: MigrationLimits,
}

/// What each migration statement may take: `lock_timeout` and `statement_timeout`, set
/// on the migration's session before any migration runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationLimits {
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for MigrationLimits {
    /// A lock wait longer than a few seconds means the migration queues behind a long
    /// transaction while every query of the serving revision queues behind it: better to
    /// fail and retry later. Five minutes is far beyond any statement a migration here
    /// runs, yet inside the migration job's 600 s.
    fn default() -> Self {
        MigrationLimits {
            lock_timeout: Duration::from_millis(5_000),
            statement_timeout: Duration::from_millis(300_000),
        }
    }
}

#[derive(Clone)]
pub struct SupabaseSettings {
    /// `SUPABASE_URL`: `https://<ref>.supabase.co`.
    pub url: Option<Url>,
    /// `SUPABASE_JWT_ISSUER`: default `${SUPABASE_URL}/auth/v1`.
    pub jwt_issuer: Option<String>,
    /// `SUPABASE_JWT_AUDIENCE`: default `authenticated`.
    pub jwt_audience: String,
    /// `SUPABASE_JWT_JWKS_URL`: default `${SUPABASE_JWT_ISSUER}/.well-known/jwks.json`.
    pub jwks_url: Option<Url>,
    /// `SUPABASE_JWT_SECRET`: optional legacy HS256 secret.
    pub jwt_secret: Option<SecretString>,
    /// `SUPABASE_JWKS_CACHE_SECS`: how long fetched signing keys are trusted before a
    /// refetch (default and maximum 600: Supabase edge-caches its JWKS for 10 minutes).
    pub jwks_cache_ttl: Duration,
    /// `SUPABASE_JWKS_REFRESH_MIN_SECS`: least time between two refetches triggered by
    /// unknown key ids or failures, so bad tokens cannot hammer Supabase Auth (default 30).
    pub jwks_min_refresh: Duration,
    /// `SUPABASE_JWT_LEEWAY_SECS`: clock skew allowed on `exp`, `nbf` and `iat` (default 30).
    pub jwt_leeway_secs: u64,
    /// `LOCAL_AUTH_KEY_FILE`: development only. The service serves the public half of
    /// this local signing key at `/auth/v1/.well-known/jwks.json`, and `dev-token`
    /// signs with it. Refused unless `LOCAL_AUTH=enabled` (an opt-in that only the local
    /// scripts set, never Terraform) and `ENVIRONMENT=development`, and refused on Cloud
    /// Run (`K_SERVICE` or `CLOUD_RUN_JOB` set) whatever else says.
    pub local_auth_key_file: Option<std::path::PathBuf>,
    /// `SUPABASE_SERVICE_ROLE_KEY` (secret): lets `DELETE /api/v1/users/me` delete the
    /// Supabase Auth user too, through Auth's admin API. Unset: the sign-in stays and the
    /// answer says so.
    pub service_role_key: Option<SecretString>,
}

#[derive(Clone)]
pub struct StorageSettings {
    /// `STORAGE_S3_ENDPOINT`: e.g. `${SUPABASE_URL}/storage/v1/s3`.
    pub endpoint: Url,
    /// `STORAGE_S3_REGION`.
    pub region: String,
    /// `STORAGE_S3_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `STORAGE_S3_SECRET_ACCESS_KEY` (secret).
    pub secret_access_key: SecretString,
    /// `STORAGE_PUBLIC_URL`: base of public objects' URLs, followed by `/{bucket}/{path}`
    /// (default `${SUPABASE_URL}/storage/v1/object/public`, else the S3 endpoint).
    pub public_url: String,
    /// `STORAGE_SIGNED_URL_TTL_SECS`: lifetime of presigned URLs (default 900, at most 3600).
    pub signed_url_ttl: Duration,
}

#[derive(Clone)]
pub struct FireworksSettings {
    /// `FIREWORKS_API_KEY` (secret). Without it, in development, identification answers
    /// from a local stand-in (`mocked: true`) and `/health` reports `mocking_enabled`;
    /// elsewhere `serve` refuses to start unless `FEATURES_OFF` names identification.
    pub api_key: Option<SecretString>,
    /// `FIREWORKS_BASE_URL`: default `https://api.fireworks.ai/inference/v1`.
    pub base_url: Url,
    /// `FIREWORKS_MODEL`.
    pub model: String,
    /// `FIREWORKS_DEADLINE_MS`: overall time for one identification, retries included
    /// (default 20000, at most 28000: the app waits 30 s).
    pub deadline: Duration,
    /// `FIREWORKS_BREAKER_THRESHOLD`: failed calls in a row that open the circuit (default 5).
    pub breaker_threshold: u32,
    /// `FIREWORKS_BREAKER_COOLDOWN_SECS`: how long an open circuit answers 503 at once (default 30).
    pub breaker_cooldown: Duration,
    /// `IDENTIFY_DAILY_LIMIT`: identifications per user per UTC day (default 50).
    pub daily_limit: i32,
    /// `IDENTIFY_CACHE_SECS`: how long the same photo is answered from memory (default 600).
    pub cache_ttl: Duration,
    /// `IDENTIFY_ANONYMOUS_DAILY_LIMIT`: identifications per client address per UTC day
    /// for callers without a token (default 0: a token is required).
    pub anonymous_daily_limit: i32,
    /// `IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT`: identifications per UTC day for a Supabase
    /// anonymous sign-in (`is_anonymous`), which any install can get without an account
    /// (default 10, or `IDENTIFY_DAILY_LIMIT` when that is lower: stricter than an
    /// account's).
    pub anonymous_user_daily_limit: i32,
    /// `IDENTIFY_MODEL_DAILY_CALLS`, `IDENTIFY_MODEL_DAILY_TOKENS`: what all instances
    /// together may spend on the model per UTC day (see `budget`).
    pub model_budget: ModelBudget,
    /// `IDENTIFY_PROMPT_VARIANTS`: the prompt variants in play and their weights,
    /// `name[@model]:weight,...` adding up to 100 (default `catalog-v1:100`); see
    /// `config::variants`.
    pub variants: Vec<super::variants::Variant>,
    /// `IDENTIFY_EXPERIMENT`: names the experiment callers are dealt into variants for
    /// (default `prompts-1`); a new name deals again.
    pub experiment: String,
}

/// The global daily model budget: calls and tokens per UTC day across every instance,
/// counted in Postgres (`db::identify::budget`). When either is spent, identification
/// answers 503 until the next UTC day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelBudget {
    /// `IDENTIFY_MODEL_DAILY_CALLS` (default 5000).
    pub calls: i64,
    /// `IDENTIFY_MODEL_DAILY_TOKENS`: prompt and completion tokens (default 25,000,000).
    pub tokens: i64,
}

/// What `machinemate-api maintain` keeps, and for how long (docs/operations.md).
#[derive(Clone)]
pub struct MaintenanceSettings {
    /// `IDENTIFICATION_RETENTION_DAYS`: identification events and corrections older than
    /// this are removed (default 180: `/api/v1/metrics/identification` reads at most 90
    /// days, and twice that keeps a full window from before a prompt rollout to compare
    /// it with; past that, the model's answers about users' photos serve nothing).
    pub identification_retention_days: u32,
    /// `SYNC_TOMBSTONE_RETENTION_DAYS`: deletions kept for devices that sync from a
    /// cursor (default 30); a device offline longer syncs from the start once.
    pub tombstone_retention_days: u32,
    /// `FASTAPI_ARCHIVE_GRACE_DAYS`: how long after the cutover `maintain
    /// --drop-fastapi-archive` keeps the FastAPI backend's archive for a rollback
    /// (default 30, at least 7: docs/cutover.md).
    pub archive_grace_days: u32,
}

#[derive(Clone)]
pub struct Settings {
    /// `HOST`: address to listen on (default `0.0.0.0`).
    pub host: IpAddr,
    /// `PORT`: listen port (Cloud Run sets it; default 8080; 0 picks a free one).
    pub port: u16,
    /// `ENVIRONMENT`: development, staging or production (default development).
    pub environment: Environment,
    /// `LOG_FORMAT`: json or pretty (default json in staging/production, pretty otherwise).
    pub log_format: LogFormat,
    /// `RUST_LOG`: log filter (default `info`).
    pub log_filter: String,
    /// `GOOGLE_CLOUD_PROJECT`: when set, log lines carry `logging.googleapis.com/trace`.
    pub google_cloud_project: Option<String>,
    /// `CORS_ORIGINS`: comma-separated allowed origins.
    pub cors_origins: Vec<String>,
    /// `SHUTDOWN_TIMEOUT_SECS`: how long in-flight requests may run after SIGTERM
    /// (default 8; Cloud Run kills 10 s after SIGTERM).
    pub shutdown_timeout: Duration,
    /// `CATALOG_MAX_STALENESS_MS`: longest time an instance may serve the catalog after
    /// a change committed elsewhere (default 1000).
    pub catalog_max_staleness_ms: u64,
    /// `UPLOADS_IN_MEMORY`: photos (identify, multipart upload) read into memory at once
    /// (default 8, 1..=64); more wait for their turn, up to 10 s, then 503. With the
    /// photo decode bound (one per CPU, `vision::image`), this bounds an instance's
    /// memory at full concurrency (docs/reliability.md).
    pub uploads_in_memory: usize,
    /// `REQUEST_DEADLINE_MS`: longest a request may take on a route whose only upstream
    /// is Postgres, body included (default 1800, 100..=60000). Past it the answer is a
    /// 503 (408 when the client had not finished sending), so a stalled database
    /// connection never leaves a caller hanging. See `crate::deadline`.
    pub request_deadline: Duration,
    /// `HISTORY_DEDUP_WINDOW_SECS`: how long a history entry posted again without a
    /// client `id` or `Idempotency-Key`, identical to one the same user wrote, is answered
    /// with the one already written instead of a second (default 30, 0..=3600; 0 turns
    /// it off). The shipped app retries `{"machine_id": id}` after a timeout.
    pub history_dedup_window: Duration,
    pub maintenance: MaintenanceSettings,
    pub database: DatabaseSettings,
    pub supabase: SupabaseSettings,
    pub storage: Option<StorageSettings>,
    pub fireworks: FireworksSettings,
    /// `FEATURES_OFF`: features turned off on purpose (`identification`, `media`); see
    /// `config::features`.
    pub features_off: FeaturesOff,
    /// `METRICS_TOKEN` (secret): a bearer token that may read `/metrics` (admins may
    /// too). Unset: admins only.
    pub metrics_token: Option<SecretString>,
    /// `SENTRY_DSN` (secret): no DSN, no Sentry.
    pub sentry_dsn: Option<SecretString>,
    /// `SENTRY_ENVIRONMENT`: default `ENVIRONMENT`.
    pub sentry_environment: Option<String>,
}

impl fmt::Debug for Settings {
    // Written by hand so a stray `{:?}` can never print a URL with a password in it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("environment", &self.environment)
            .field("pool_mode", &self.database.pool_mode)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_FIREWORKS_BASE_URL: &str = "https://api.fireworks.ai/inference/v1";
pub const DEFAULT_FIREWORKS_MODEL: &str = "accounts/fireworks/models/qwen2p5-vl-32b-instruct";

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Whether bearer tokens can be verified with this configuration.
    pub fn auth_configured(&self) -> bool {
        self.supabase.jwks_url.is_some() || self.supabase.jwt_secret.is_some()
    }
}
