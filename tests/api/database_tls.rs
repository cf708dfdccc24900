//! The service reaches Postgres over TLS and checks the server's certificate against
//! `DATABASE_CA_CERT` (verify-full), as it must on Cloud Run. The private PostgreSQL of
//! scripts/local-postgres speaks TLS with a certificate from its own CA, whose file
//! scripts/test passes as TEST_DATABASE_CA_FILE.

use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{TestApp, assert_error};

/// A CA that signed nothing the database presents.
const OTHER_CA: &str = include_str!("database_tls_other_ca.pem");

fn database_ca() -> String {
    let path = std::env::var("TEST_DATABASE_CA_FILE").expect(
        "TEST_DATABASE_CA_FILE: the CA of DATABASE_URL's server (scripts/test sets it for \
         its private PostgreSQL: scripts/local-postgres)",
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The app on its database by host name (the certificate names localhost), with `ca`.
async fn app_checking_against(ca: String) -> TestApp {
    TestApp::builder()
        .settings(move |s| {
            let mut url = url::Url::parse(s.database.url.expose_secret()).unwrap();
            url.set_host(Some("localhost")).unwrap();
            s.database.url = SecretString::from(url.to_string());
            s.database.ca_cert = Some(ca);
        })
        .spawn()
        .await
}

#[tokio::test]
async fn with_the_database_ca_the_service_connects_over_verified_tls() {
    let app = app_checking_against(database_ca()).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let encrypted: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity a join pg_stat_ssl s using (pid) \
         where a.application_name = 'machinemate-api' and a.datname = $1 and s.ssl",
    )
    .bind(&app.database_name)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(encrypted >= 1, "the service's connection is not encrypted");
}

#[tokio::test]
async fn a_server_whose_certificate_another_ca_signed_is_refused() {
    let app = app_checking_against(OTHER_CA.to_owned()).await;
    let answer = assert_error(app.get("/health/ready").await, 503, "database_unavailable").await;
    assert_eq!(answer.body["ready"], false);
}
