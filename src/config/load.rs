//! [`Settings::from_lookup`]: every variable read and checked, section by section.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::budget::{Allowances, DEFAULT_ANONYMOUS_USER_DAILY_LIMIT, model_budget};
use super::kinds::{Environment, FeaturesOff, LogFormat, PoolMode};
use super::problem::ConfigError;
use super::settings::*;
use super::vars::{Vars, cors_origins};

impl Settings {
    /// Reads settings through any lookup function (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(lookup);
        let environment = vars.parsed("ENVIRONMENT", Environment::Development)?;
        let default_format = match environment {
            Environment::Development => LogFormat::Pretty,
            _ => LogFormat::Json,
        };

        let database_url =
            vars.required("DATABASE_URL", "postgres://user:password@host:5432/db")?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError {
                name: "DATABASE_URL",
                problem: "must start with postgres:// or postgresql://".into(),
            });
        }
        let max_connections: u32 = vars.ranged("DATABASE_MAX_CONNECTIONS", 10, 1..=500)?;
        let ca_cert = super::database_tls::ca_cert(&vars, &database_url)?;

        let supabase_url = vars.url("SUPABASE_URL")?;
        let jwt_issuer = vars.get("SUPABASE_JWT_ISSUER").or_else(|| {
            supabase_url
                .as_ref()
                .map(|u| format!("{}/auth/v1", u.as_str().trim_end_matches('/')))
        });
        let jwks_url = match vars.url("SUPABASE_JWT_JWKS_URL")? {
            Some(url) => Some(url),
            None => jwt_issuer
                .as_deref()
                .map(|iss| {
                    Url::parse(&format!(
                        "{}/.well-known/jwks.json",
                        iss.trim_end_matches('/')
                    ))
                })
                .transpose()
                .map_err(|e| ConfigError {
                    name: "SUPABASE_JWT_ISSUER",
                    problem: format!("does not make a valid JWKS URL: {e}"),
                })?,
        };

        let signed_url_secs: u64 = vars.ranged("STORAGE_SIGNED_URL_TTL_SECS", 900, 1..=3600)?;
        let storage = match vars.url("STORAGE_S3_ENDPOINT")? {
            None => None,
            Some(endpoint) => Some(StorageSettings {
                public_url: vars
                    .url("STORAGE_PUBLIC_URL")?
                    .map(|u| u.to_string())
                    .or_else(|| {
                        supabase_url.as_ref().map(|u| {
                            format!(
                                "{}/storage/v1/object/public",
                                u.as_str().trim_end_matches('/')
                            )
                        })
                    })
                    .unwrap_or_else(|| endpoint.to_string()),
                signed_url_ttl: Duration::from_secs(signed_url_secs),
                endpoint,
                region: vars
                    .get("STORAGE_S3_REGION")
                    .unwrap_or_else(|| "us-east-1".into()),
                access_key_id: vars
                    .required("STORAGE_S3_ACCESS_KEY_ID", "set with STORAGE_S3_ENDPOINT")?,
                secret_access_key: SecretString::from(vars.required(
                    "STORAGE_S3_SECRET_ACCESS_KEY",
                    "set with STORAGE_S3_ENDPOINT",
                )?),
            }),
        };

        let deadline_ms: u64 = vars.ranged("FIREWORKS_DEADLINE_MS", 20_000, 100..=28_000)?;
        let user_limit = vars.parsed("IDENTIFY_DAILY_LIMIT", 50)?;
        let allowances = Allowances {
            user: user_limit,
            // Never more than an account gets, unless set so on purpose.
            anonymous_user: vars.parsed(
                "IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT",
                DEFAULT_ANONYMOUS_USER_DAILY_LIMIT.min(user_limit),
            )?,
            address: vars.parsed("IDENTIFY_ANONYMOUS_DAILY_LIMIT", 0)?,
        };
        let model_budget = model_budget(&vars, &allowances)?;
        let fireworks = FireworksSettings {
            api_key: vars.secret("FIREWORKS_API_KEY"),
            base_url: vars
                .url("FIREWORKS_BASE_URL")?
                .unwrap_or_else(|| Url::parse(DEFAULT_FIREWORKS_BASE_URL).expect("constant URL")),
            model: vars
                .get("FIREWORKS_MODEL")
                .unwrap_or_else(|| DEFAULT_FIREWORKS_MODEL.into()),
            deadline: Duration::from_millis(deadline_ms),
            breaker_threshold: vars.parsed("FIREWORKS_BREAKER_THRESHOLD", 5)?.max(1),
            breaker_cooldown: Duration::from_secs(
                vars.parsed("FIREWORKS_BREAKER_COOLDOWN_SECS", 30)?,
            ),
            daily_limit: allowances.user,
            cache_ttl: Duration::from_secs(vars.parsed("IDENTIFY_CACHE_SECS", 600)?),
            anonymous_daily_limit: allowances.address,
            anonymous_user_daily_limit: allowances.anonymous_user,
            model_budget,
            variants: super::variants::parse(
                &vars
                    .get("IDENTIFY_PROMPT_VARIANTS")
                    .unwrap_or_else(|| "catalog-v1:100".into()),
            )
            .map_err(|problem| ConfigError {
                name: "IDENTIFY_PROMPT_VARIANTS",
                problem,
            })?,
            experiment: vars
                .get("IDENTIFY_EXPERIMENT")
                .unwrap_or_else(|| "prompts-1".into()),
        };

        let jwks_cache_secs: u64 = vars.ranged("SUPABASE_JWKS_CACHE_SECS", 600, 1..=600)?;
        let local_auth_key_file = vars
            .get("LOCAL_AUTH_KEY_FILE")
            .map(std::path::PathBuf::from);
        if local_auth_key_file.is_some() {
            let problem = if vars.get("LOCAL_AUTH").as_deref() != Some("enabled") {
                Some("needs LOCAL_AUTH=enabled (set by scripts/dev, never in the cloud)")
            } else if environment != Environment::Development {
                Some("is only allowed with ENVIRONMENT=development")
            } else if vars.get("K_SERVICE").is_some() || vars.get("CLOUD_RUN_JOB").is_some() {
                Some("is never allowed on Cloud Run")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ConfigError {
                    name: "LOCAL_AUTH_KEY_FILE",
                    problem: problem.into(),
                });
            }
        }
        if (jwks_url.is_some() || vars.get("SUPABASE_JWT_SECRET").is_some()) && jwt_issuer.is_none()
        {
            return Err(ConfigError {
                name: "SUPABASE_JWT_ISSUER",
                problem: "is required to verify tokens (or set SUPABASE_URL)".into(),
            });
        }

        let defaults = MigrationLimits::default();
        let migration_limits = MigrationLimits {
            lock_timeout: Duration::from_millis(vars.ranged(
                "MIGRATION_LOCK_TIMEOUT_MS",
                defaults.lock_timeout.as_millis() as u64,
                100..=600_000,
            )?),
            statement_timeout: Duration::from_millis(vars.ranged(
                "MIGRATION_STATEMENT_TIMEOUT_MS",
                defaults.statement_timeout.as_millis() as u64,
                1_000..=3_600_000,
            )?),
        };

        let shutdown_secs: u64 = vars.ranged("SHUTDOWN_TIMEOUT_SECS", 8, 0..=30)?;

        let request_deadline_ms: u64 = vars.ranged("REQUEST_DEADLINE_MS", 1800, 100..=60_000)?;

        Ok(Settings {
            host: vars.parsed("HOST", IpAddr::from([0, 0, 0, 0]))?,
            port: vars.parsed("PORT", 8080)?,
            environment,
            log_format: vars.parsed("LOG_FORMAT", default_format)?,
            log_filter: vars.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            google_cloud_project: vars.get("GOOGLE_CLOUD_PROJECT"),
            cors_origins: cors_origins(vars.get("CORS_ORIGINS"))?,
            shutdown_timeout: Duration::from_secs(shutdown_secs),
            catalog_max_staleness_ms: vars.parsed("CATALOG_MAX_STALENESS_MS", 1000)?,
            request_deadline: Duration::from_millis(request_deadline_ms),
            history_dedup_window: Duration::from_secs(vars.ranged(
                "HISTORY_DEDUP_WINDOW_SECS",
                30,
                0..=3600,
            )?),
            uploads_in_memory: vars.ranged("UPLOADS_IN_MEMORY", 8, 1..=64)?,
            maintenance: MaintenanceSettings {
                identification_retention_days: vars.ranged(
                    "IDENTIFICATION_RETENTION_DAYS",
                    180,
                    1..=3650,
                )?,
                tombstone_retention_days: vars.ranged(
                    "SYNC_TOMBSTONE_RETENTION_DAYS",
                    30,
                    1..=3650,
                )?,
                archive_grace_days: vars.ranged("FASTAPI_ARCHIVE_GRACE_DAYS", 30, 7..=3650)?,
            },
            database: DatabaseSettings {
                url: SecretString::from(database_url),
                ca_cert,
                pool_mode: vars.parsed("DATABASE_POOL_MODE", PoolMode::Session)?,
                max_connections,
                acquire_timeout: Duration::from_millis(
                    vars.parsed("DATABASE_ACQUIRE_TIMEOUT_MS", 1500)?,
                ),
                migration_limits,
            },
            supabase: SupabaseSettings {
                url: supabase_url,
                jwt_issuer,
                jwt_audience: vars
                    .get("SUPABASE_JWT_AUDIENCE")
                    .unwrap_or_else(|| "authenticated".into()),
                jwks_url,
                jwt_secret: vars.secret("SUPABASE_JWT_SECRET"),
                jwks_cache_ttl: Duration::from_secs(jwks_cache_secs),
                jwks_min_refresh: Duration::from_secs(
                    vars.parsed("SUPABASE_JWKS_REFRESH_MIN_SECS", 30)?,
                ),
                jwt_leeway_secs: vars.parsed("SUPABASE_JWT_LEEWAY_SECS", 30)?,
                local_auth_key_file,
                service_role_key: vars.secret("SUPABASE_SERVICE_ROLE_KEY"),
            },
            storage,
            fireworks,
            features_off: vars.parsed("FEATURES_OFF", FeaturesOff::default())?,
            metrics_token: vars.secret("METRICS_TOKEN"),
            sentry_dsn: vars.secret("SENTRY_DSN"),
            sentry_environment: vars.get("SENTRY_ENVIRONMENT"),
        })
    }
}
