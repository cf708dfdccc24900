//! The real binary's log lines, in Cloud Logging's shape, and what reaches Sentry.

use crate::binary::Service;
use crate::helpers::{DbProxy, database_url, fresh_database, postgres_addr};
use crate::stand_ins::sentry::SentryServer;

#[tokio::test]
async fn logs_link_cloud_trace_and_sentry_gets_no_secrets() {
    let sentry = SentryServer::start();
    let proxy = DbProxy::start(postgres_addr()).await;
    let url = proxy.url_for(&database_url(&fresh_database().await));
    let binary = Service::start_logging(&[
        ("DATABASE_URL", url),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "800".into()),
        ("RUST_LOG", "info".into()),
        ("GOOGLE_CLOUD_PROJECT", "machinemate-test".into()),
        ("SENTRY_DSN", sentry.dsn.clone()),
        ("SENTRY_ENVIRONMENT", "ci".into()),
    ]);
    let client = reqwest::Client::new();
    let token = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LWNsYWltcw.bm90LWEtcmVhbC1zaWduYXR1cmU";
    let signature = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    // A request that succeeds: its log line, in Cloud Logging's shape.
    let response = client
        .get(binary.url(&format!(
            "/api/v1/machines?page_size=5&X-Amz-Signature={signature}"
        )))
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", "sb-access-token=cookie-secret-value")
        .header("User-Agent", "MachineMate-Test/1.0")
        .header(
            "X-Cloud-Trace-Context",
            format!("{trace_id}/1234567890;o=1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = binary
        .line_where(|l| l["message"] == "request completed" && l["trace_id"] == trace_id)
        .await;
    assert_eq!(line["severity"], "INFO");
    assert_eq!(
        line["logging.googleapis.com/trace"],
        format!("projects/machinemate-test/traces/{trace_id}")
    );
    assert_eq!(line["logging.googleapis.com/spanId"], "1234567890");
    let request = &line["httpRequest"];
    assert_eq!(request["requestMethod"], "GET");
    assert_eq!(request["status"], 200);
    assert_eq!(request["userAgent"], "MachineMate-Test/1.0");
    assert_eq!(request["remoteIp"], "127.0.0.1");
    assert!(request["latency"].as_str().unwrap().ends_with('s'));
    assert!(
        request["responseSize"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(
        request["requestUrl"],
        "/api/v1/machines?page_size=5&X-Amz-Signature=[redacted]"
    );

    // The database goes away: the failure is logged once and reported to Sentry, with
    // the request's details but none of its secrets.
    proxy.refuse();
    let failed = client
        .get(binary.url(&format!("/api/v1/metrics/categories?token={signature}")))
        .header("Authorization", format!("Bearer {token}"))
        .header("Cookie", "sb-access-token=cookie-secret-value")
        .header(
            "X-Cloud-Trace-Context",
            "0af7651916cd43dd8448eb211c80319c/1;o=1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let envelope = sentry.wait_for("database unavailable").await;
    assert!(
        envelope.contains("/api/v1/metrics/categories"),
        "{envelope}"
    );
    assert!(envelope.contains("\"environment\":\"ci\""), "{envelope}");
    for secret in [token, signature, "cookie-secret-value"] {
        assert!(
            !envelope.contains(secret),
            "Sentry got {secret}: {envelope}"
        );
    }
    let errors: Vec<String> = binary
        .lines()
        .iter()
        .filter(|l| l.contains("\"severity\":\"ERROR\""))
        .cloned()
        .collect();
    assert_eq!(errors.len(), 1, "the failure is logged once: {errors:?}");

    // No line the service wrote holds a token, a cookie or a signature.
    for line in binary.lines().iter() {
        for secret in [token, signature, "cookie-secret-value"] {
            assert!(!line.contains(secret), "logged {secret}: {line}");
        }
    }
}

#[tokio::test]
async fn secret_query_values_are_redacted_whatever_the_encoding_of_their_names() {
    let binary = Service::start_logging(&[
        ("DATABASE_URL", database_url(&fresh_database().await)),
        ("RUST_LOG", "info".into()),
    ]);
    let secrets = [
        ("access%5Ftoken", "leaked-access-token-1"),
        ("%61pi%5Fkey", "leaked-api-key-2"),
        ("authorization", "Bearer%20leaked-bearer-3"),
        ("Authorization", "leaked-bearer-4"),
        ("x%2Damz%2Dsignature", "leaked-signature-5"),
        ("refresh+token", "leaked-refresh-6"),
    ];
    let query: Vec<String> = secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let path = format!("/api/v1/machines?page_size=5&{}", query.join("&"));
    let response = reqwest::get(binary.url(&path)).await.unwrap();
    assert_eq!(response.status(), 200);
    let line = binary
        .line_where(|l| {
            l["message"] == "request completed"
                && l["httpRequest"]["requestUrl"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("/api/v1/machines?page_size=5"))
        })
        .await;
    let logged = line["httpRequest"]["requestUrl"].as_str().unwrap();
    assert!(logged.contains("page_size=5"), "{logged}");
    assert_eq!(
        logged.matches("[redacted]").count(),
        secrets.len(),
        "{logged}"
    );
    for line in binary.lines() {
        for (_, secret) in secrets {
            let bare = secret.trim_start_matches("Bearer%20");
            assert!(!line.contains(bare), "logged {bare}: {line}");
        }
    }
}
