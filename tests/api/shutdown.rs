//! SIGTERM: stop accepting, finish what is in flight, exit well before Cloud Run's
//! SIGKILL (10 s later), with the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use machinemate_api::db::Db;
use machinemate_api::db::rls::UserTx;

use crate::helpers::{DbProxy, database_url, fresh_database, postgres_addr, test_settings};
use crate::stand_ins::fireworks::{FireworksServer, Reply};

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

#[tokio::test]
async fn sigterm_during_slow_identifications_finishes_them_refuses_new_work_and_exits() {
    // Fireworks takes 2 s per photo: identifications in flight when SIGTERM arrives.
    let fireworks = FireworksServer::start(
        vec![],
        Reply::Slow(
            Duration::from_secs(2),
            serde_json::json!({"machine": "Leg Press", "confidence": 0.9}).to_string(),
        ),
    )
    .await;
    let url = database_url(&fresh_database().await);
    let port = crate::helpers::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_machinemate-api"));
    command
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        // Callers without a token may identify (per-address limit): no Auth needed here.
        .env("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in fireworks.env() {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/health/ready"))
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(Instant::now() < deadline, "the service did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let photo = |shade: u8| {
        let img = image::RgbImage::from_pixel(32, 24, image::Rgb([shade, 10, 10]));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let in_flight: Vec<_> = (0..4u8)
        .map(|shade| {
            let (base, bytes) = (base.clone(), photo(shade));
            tokio::spawn(async move {
                let form = reqwest::multipart::Form::new().part(
                    "image",
                    reqwest::multipart::Part::bytes(bytes).file_name("p.png"),
                );
                reqwest::Client::new()
                    .post(format!("{base}/identify"))
                    .multipart(form)
                    .send()
                    .await
            })
        })
        .collect();
    // All four are waiting on Fireworks.
    let waiting = Instant::now() + Duration::from_secs(5);
    while fireworks.calls() < 4 {
        assert!(
            Instant::now() < waiting,
            "the identifications did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );

    // New work is refused at once: the listener is closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let refused = reqwest::Client::new()
        .get(format!("{base}/health/live"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    // The slow ones finish, with their answers.
    for request in in_flight {
        let response = request.await.unwrap().expect("answered");
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["machine"], "Seated Leg Press");
    }
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let took = signalled.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(8), "exit took {took:?}");
    assert!(
        took >= Duration::from_millis(1500),
        "it did not wait for them: {took:?}"
    );
}

/// Actix serves each worker on a runtime of its own. After SIGTERM a worker with
/// nothing in flight stops at once while another still finishes its requests; the
/// latter must still be able to use every pooled connection, including ones the
/// stopped worker opened. (Before `db::Db` opened connections on a runtime of their
/// own, such a connection failed with "A Tokio 1.x context was found, but it is being
/// shutdown" and the request answered 503: the cause of rare failures of the test
/// above.) Each way of checking a connection out is tried on a one-connection pool.
#[tokio::test]
async fn pooled_connections_outlive_the_worker_runtime_that_opened_them() {
    let url = database_url(&fresh_database().await);
    let settings = test_settings(&url, &[("DATABASE_MAX_CONNECTIONS", "1")]);
    for checkout in [Checkout::WithConn, Checkout::UserTx, Checkout::Begin] {
        let db = Db::connect_lazy(&settings.database).unwrap();
        // A stand-in for an actix worker: a current-thread runtime on a thread of its
        // own, which opens the pool's connection, idles, and stops.
        let worker_db = db.clone();
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                checkout.run(&worker_db).await.unwrap();
                // Idle: the connection goes back to the pool meanwhile.
                tokio::time::sleep(Duration::from_millis(100)).await;
            });
        })
        .await
        .unwrap();
        assert_eq!(
            db.pool().size(),
            1,
            "{checkout:?}: the connection is pooled"
        );
        // Another worker, still serving, takes that connection.
        let answer = checkout.run(&db).await;
        assert!(answer.is_ok(), "{checkout:?}: {answer:?}");
    }
}

#[derive(Clone, Copy, Debug)]
enum Checkout {
    WithConn,
    UserTx,
    Begin,
}

impl Checkout {
    async fn run(self, db: &Db) -> Result<(), sqlx::Error> {
        match self {
            Checkout::WithConn => {
                let one = db
                    .with_conn(async |conn| {
                        sqlx::query_scalar::<_, i32>("select 1")
                            .fetch_one(conn)
                            .await
                    })
                    .await?;
                assert_eq!(one, 1);
            }
            Checkout::UserTx => {
                let claims = serde_json::json!({ "sub": uuid::Uuid::new_v4() });
                let role = UserTx::run(db, &claims, async |tx: &mut UserTx| {
                    sqlx::query_scalar::<_, String>("select current_user::text")
                        .fetch_one(tx.conn())
                        .await
                })
                .await?;
                assert_eq!(role, "machinemate_request");
            }
            Checkout::Begin => {
                let mut tx = db.begin().await?;
                sqlx::query("select 1").execute(&mut *tx).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
