//! How the service checks the Postgres server it talks to: `DATABASE_URL`'s `sslmode`
//! and `DATABASE_CA_CERT`.
//!
//! `sslmode=require` (what Supabase's connection strings say) encrypts but accepts any
//! certificate, so anything on the path can stand in for the database and read every
//! query. With `DATABASE_CA_CERT` (the CA that signed the server's certificate:
//! Supabase's, from the project's database settings) the service checks the certificate
//! and the host name (`verify-full`; `verify-ca` in the URL keeps the host name
//! unchecked). On Cloud Run the service refuses to start unless it checks the server.

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::problem::ConfigError;
use super::vars::Vars;

/// `mode` as `sslmode` spells it.
fn spelled(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// `DATABASE_CA_CERT`, checked to hold a PEM certificate; and, on Cloud Run, a refusal
/// of a `database_url` that would not check the server it reaches over the network.
/// The URL is read by sqlx's own parser, as the pool will read it; one it cannot read
/// is refused later, where the pool is built.
pub(super) fn ca_cert<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    database_url: &str,
) -> Result<Option<String>, ConfigError> {
    let ca = vars.get("DATABASE_CA_CERT");
    if let Some(pem) = &ca
        && !pem.contains("-----BEGIN CERTIFICATE-----")
    {
        return Err(ConfigError {
            name: "DATABASE_CA_CERT",
            problem: "must hold a PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    let on_cloud_run = vars.get("K_SERVICE").is_some() || vars.get("CLOUD_RUN_JOB").is_some();
    let Ok(options) = database_url.parse::<PgConnectOptions>() else {
        return Ok(ca);
    };
    let mode = options.get_ssl_mode();
    let verifies = ca.is_some() || matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull);
    if on_cloud_run && !verifies && !local(&options) {
        return Err(ConfigError {
            name: "DATABASE_URL",
            problem: format!(
                "sslmode={} does not check the database's certificate; on Cloud Run set \
                 DATABASE_CA_CERT to the CA that signs it (Supabase: Database settings, SSL)",
                spelled(mode)
            ),
        });
    }
    Ok(ca)
}

/// True when `options` reach Postgres on this machine (loopback or a Unix socket),
/// where no network lies between the two.
fn local(options: &PgConnectOptions) -> bool {
    let host = options.get_host();
    options.get_socket().is_some()
        || host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
