//! How the service checks the Postgres server it talks to: `DATABASE_URL`'s `sslmode`
//! and `DATABASE_CA_CERT`.
//!
//! `sslmode=require` (what Supabase's connection strings say) encrypts but accepts any
//! certificate, so anything on the path can stand in for the database and read every
//! query. With `DATABASE_CA_CERT` (the CA that signed the server's certificate:
//! Supabase's, from the project's database settings) the service checks the certificate
//! and the host name (`verify-full`; `verify-ca` in the URL keeps the host name
//! unchecked). On Cloud Run the service refuses to start unless it checks the server.

use url::Url;

use super::problem::ConfigError;
use super::vars::Vars;

/// The `sslmode`s that check the server's certificate.
const VERIFYING: [&str; 2] = ["verify-ca", "verify-full"];

/// `url`'s `sslmode`, if it names one.
pub fn url_sslmode(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "sslmode")
        .map(|(_, mode)| mode.into_owned())
}

/// `DATABASE_CA_CERT`, checked to hold a PEM certificate; and, on Cloud Run, a refusal
/// of a `database_url` that would not check the server it reaches over the network.
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
    let mode = url_sslmode(database_url);
    let verifies = ca.is_some() || mode.as_deref().is_some_and(|m| VERIFYING.contains(&m));
    if on_cloud_run && !verifies && !local_host(database_url) {
        return Err(ConfigError {
            name: "DATABASE_URL",
            problem: format!(
                "sslmode={} does not check the database's certificate; on Cloud Run set \
                 DATABASE_CA_CERT to the CA that signs it (Supabase: Database settings, SSL)",
                mode.as_deref().unwrap_or("prefer")
            ),
        });
    }
    Ok(ca)
}

/// True when `url` reaches Postgres on this machine (loopback or a Unix socket), where
/// no network lies between the two.
fn local_host(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let socket_dir = url
        .query_pairs()
        .any(|(key, value)| key == "host" && value.starts_with('/'));
    // postgres:// is not a scheme the url crate knows, so an IP address comes back as
    // an opaque host name.
    match url.host() {
        _ if socket_dir => true,
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => true,
    }
}
