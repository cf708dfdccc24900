//! SIGTERM: stop accepting, finish what is in flight, exit well before Cloud Run's
//! SIGKILL (10 s later).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{DbProxy, database_url, fresh_database, postgres_addr};

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_promptly() {
    // A hanging database makes /health/ready take its full one-second bound: a
    // request that is reliably in flight when SIGTERM arrives.
    let proxy = DbProxy::start(postgres_addr()).await;
    proxy.hang();
    let url = proxy.url_for(&database_url(&fresh_database().await));
    let mut child = Command::new(env!("CARGO_BIN_EXE_machinemate-api"))
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The "listening" line names the port.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server logs before exiting")
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(json["severity"].is_string());
        if json["message"] == "listening" {
            break json["port"].as_u64().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let in_flight = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move { client.get(format!("{base}/health/ready")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 503);

    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let took = signalled.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(8), "exit took {took:?}");

    let after = client.get(format!("{base}/health/live")).send().await;
    assert!(after.is_err(), "the server still accepts connections");
}
