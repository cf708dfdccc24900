//! Settings read once from the environment at start-up and validated there.
//!
//! The variable names are the service's interface (see `README.md`). A missing or
//! malformed variable stops start-up with one line that names it. Secrets live in
//! [`SecretString`] and are only exposed at the point of use.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {name} {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => Ok(Environment::Development),
            "staging" => Ok(Environment::Staging),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err("must be one of development, staging, production".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, in Cloud Logging's shape.
    Json,
    /// Human-readable lines for local work.
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "pretty" | "text" => Ok(LogFormat::Pretty),
            _ => Err("must be json or pretty".into()),
        }
    }
}

/// How connections reach Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A direct connection or a session-mode pooler: named prepared statements are cached.
    Session,
    /// PgBouncer/Supavisor in transaction mode (port 6543): a server connection may change
    /// between transactions, so statements must be unnamed.
    Transaction,
}

impl FromStr for PoolMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "session" => Ok(PoolMode::Session),
            "transaction" => Ok(PoolMode::Transaction),
            _ => Err("must be session or transaction".into()),
        }
    }
}

#[derive(Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`: the Postgres URL, password included (secret).
    pub url: SecretString,
    /// `DATABASE_POOL_MODE`: `session` (default) or `transaction`.
    pub pool_mode: PoolMode,
    /// `DATABASE_MAX_CONNECTIONS`: pool size per instance (default 10).
    pub max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: longest wait for a pooled connection, including
    /// opening a new one (default 1500: with the database down, every route answers 503
    /// within two seconds).
    pub acquire_timeout: Duration,
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
    /// `FIREWORKS_API_KEY` (secret). Without it identification answers a mocked
    /// "Unknown" (`mocked: true`), and `/health` reports `mocking_enabled`.
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
    /// `IDENTIFY_PROMPT_VARIANTS`: the prompt variants in play and their weights,
    /// `name[@model]:weight,...` adding up to 100 (default `catalog-v1:100`); see
    /// `vision::variants`.
    pub variants: Vec<crate::vision::variants::Variant>,
    /// `IDENTIFY_EXPERIMENT`: names the experiment callers are dealt into variants for
    /// (default `prompts-1`); a new name deals again.
    pub experiment: String,
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
    pub database: DatabaseSettings,
    pub supabase: SupabaseSettings,
    pub storage: Option<StorageSettings>,
    pub fireworks: FireworksSettings,
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

/// Reads variables through `lookup`, treating empty values as unset.
struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn get(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError {
            name,
            problem: format!("is required ({hint})"),
        })
    }

    fn parsed<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError {
                name,
                problem: format!("is invalid: {e}"),
            }),
        }
    }

    /// `parsed`, and then within `range` (inclusive), or one line saying so.
    fn ranged<T>(
        &self,
        name: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display,
        T::Err: fmt::Display,
    {
        let value = self.parsed(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError {
                name,
                problem: format!("must be between {} and {}", range.start(), range.end()),
            })
        }
    }

    fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        self.get(name)
            .map(|raw| {
                let url = Url::parse(&raw).map_err(|e| ConfigError {
                    name,
                    problem: format!("is not a valid URL: {e}"),
                })?;
                if url.scheme() != "http" && url.scheme() != "https" {
                    return Err(ConfigError {
                        name,
                        problem: "must be an http(s) URL".into(),
                    });
                }
                Ok(url)
            })
            .transpose()
    }

    fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }
}

/// `scheme://host[:port]` origins; `*` is refused, since the API takes bearer tokens.
fn cors_origins(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            // A wildcard is refused outright: `*` would hand bearer-token answers to any
            // site, and CORS has no `*.example.com` (it would silently match nothing).
            let valid = !origin.contains('*')
                && Url::parse(origin).is_ok_and(|u| {
                    u.host_str().is_some()
                        && u.path().trim_end_matches('/').is_empty()
                        && u.query().is_none()
                });
            if valid {
                Ok(origin.trim_end_matches('/').to_owned())
            } else {
                Err(ConfigError {
                    name: "CORS_ORIGINS",
                    problem: format!(
                        "has an invalid origin {origin:?} (expected scheme://host[:port])"
                    ),
                })
            }
        })
        .collect()
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

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
            daily_limit: vars.parsed("IDENTIFY_DAILY_LIMIT", 50)?,
            cache_ttl: Duration::from_secs(vars.parsed("IDENTIFY_CACHE_SECS", 600)?),
            anonymous_daily_limit: vars.parsed("IDENTIFY_ANONYMOUS_DAILY_LIMIT", 0)?,
            variants: crate::vision::variants::parse(
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
            uploads_in_memory: vars.ranged("UPLOADS_IN_MEMORY", 8, 1..=64)?,
            database: DatabaseSettings {
                url: SecretString::from(database_url),
                pool_mode: vars.parsed("DATABASE_POOL_MODE", PoolMode::Session)?,
                max_connections,
                acquire_timeout: Duration::from_millis(
                    vars.parsed("DATABASE_ACQUIRE_TIMEOUT_MS", 1500)?,
                ),
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
            metrics_token: vars.secret("METRICS_TOKEN"),
            sentry_dsn: vars.secret("SENTRY_DSN"),
            sentry_environment: vars.get("SENTRY_ENVIRONMENT"),
        })
    }

    /// Whether bearer tokens can be verified with this configuration.
    pub fn auth_configured(&self) -> bool {
        self.supabase.jwks_url.is_some() || self.supabase.jwt_secret.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn a_missing_database_url_names_the_variable() {
        let err = settings(&[]).unwrap_err();
        assert_eq!(err.name, "DATABASE_URL");
        assert!(
            err.to_string()
                .starts_with("configuration error: DATABASE_URL is required")
        );
    }

    #[test]
    fn defaults_follow_the_design() {
        let s = settings(&[("DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
        assert_eq!(s.port, 8080);
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.database.pool_mode, PoolMode::Session);
        assert_eq!(s.supabase.jwt_audience, "authenticated");
        assert_eq!(
            s.fireworks.base_url.as_str(),
            "https://api.fireworks.ai/inference/v1"
        );
        assert!(!s.auth_configured());
        assert!(s.storage.is_none());
    }

    #[test]
    fn supabase_url_derives_issuer_and_jwks() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("SUPABASE_URL", "https://abc.supabase.co/"),
            ("ENVIRONMENT", "production"),
        ])
        .unwrap();
        assert_eq!(
            s.supabase.jwt_issuer.as_deref(),
            Some("https://abc.supabase.co/auth/v1")
        );
        assert_eq!(
            s.supabase.jwks_url.as_ref().map(Url::as_str),
            Some("https://abc.supabase.co/auth/v1/.well-known/jwks.json")
        );
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(s.auth_configured());
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("DATABASE_POOL_MODE", "statement"),
            ("LOG_FORMAT", "xml"),
            ("ENVIRONMENT", "moon"),
            ("SUPABASE_URL", "not a url"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("CORS_ORIGINS", "*"),
            ("CORS_ORIGINS", "http://localhost:8081,not an origin"),
        ] {
            let err =
                settings(&[("DATABASE_URL", "postgres://u:p@h/db"), (name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
        let err = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.name, "DATABASE_URL");
    }

    #[test]
    fn cors_origins_are_parsed() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            (
                "CORS_ORIGINS",
                " http://localhost:8081 , exp://localhost:8081/ ,",
            ),
        ])
        .unwrap();
        assert_eq!(
            s.cors_origins,
            ["http://localhost:8081", "exp://localhost:8081"]
        );
    }

    #[test]
    fn unknown_prompt_variants_or_weights_off_100_stop_start_up_naming_the_variable() {
        for spec in ["catalog-v9:100", "catalog-v2:60,cues-v1:30"] {
            let err = settings(&[
                ("DATABASE_URL", "postgres://u:p@h/db"),
                ("IDENTIFY_PROMPT_VARIANTS", spec),
            ])
            .unwrap_err();
            assert_eq!(err.name, "IDENTIFY_PROMPT_VARIANTS", "{spec}");
            assert_eq!(err.to_string().lines().count(), 1);
        }
        let ok = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            (
                "IDENTIFY_PROMPT_VARIANTS",
                "catalog-v2:80,describe-v1@accounts/x/models/y:20",
            ),
        ])
        .unwrap();
        assert_eq!(ok.fireworks.variants.len(), 2);
    }

    #[test]
    fn the_local_signing_key_needs_an_opt_in_development_and_no_cloud() {
        let key = [
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("LOCAL_AUTH_KEY_FILE", "/tmp/key"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = key.to_vec();
            pairs.extend_from_slice(extra);
            settings(&pairs)
        };
        // ENVIRONMENT defaults to development (and Terraform's dev sets it): not enough.
        let err = with(&[]).unwrap_err();
        assert_eq!(err.name, "LOCAL_AUTH_KEY_FILE");
        assert!(
            err.problem.contains("LOCAL_AUTH=enabled"),
            "{}",
            err.problem
        );
        let err = with(&[("LOCAL_AUTH", "enabled"), ("ENVIRONMENT", "production")]).unwrap_err();
        assert!(err.problem.contains("ENVIRONMENT=development"));
        let err = with(&[
            ("LOCAL_AUTH", "enabled"),
            ("K_SERVICE", "machinemate-api-dev"),
        ])
        .unwrap_err();
        assert!(err.problem.contains("Cloud Run"));
        assert!(with(&[("LOCAL_AUTH", "enabled")]).is_ok());
        let err = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("SUPABASE_JWT_SECRET", "s"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "SUPABASE_JWT_ISSUER");
    }

    #[test]
    fn storage_needs_its_keys() {
        let err = settings(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "STORAGE_S3_ACCESS_KEY_ID");
    }

    #[test]
    fn debug_output_never_shows_the_database_password() {
        let s = settings(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
