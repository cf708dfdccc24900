//! The variables that take one of a few words.

use std::str::FromStr;

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

/// `FEATURES_OFF`: comma-separated features turned off on purpose (`config::features`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeaturesOff {
    /// `identification`: `POST /identify` and `POST /api/v1/identify` answer 501.
    pub identification: bool,
    /// `media`: the media routes answer 501.
    pub media: bool,
}

impl FromStr for FeaturesOff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut off = FeaturesOff::default();
        for word in s.split(',').map(str::trim) {
            match word.to_ascii_lowercase().as_str() {
                "" => {}
                "identification" => off.identification = true,
                "media" => off.media = true,
                _ => {
                    return Err(format!(
                        "unknown feature {word:?} (known: identification, media)"
                    ));
                }
            }
        }
        Ok(off)
    }
}
