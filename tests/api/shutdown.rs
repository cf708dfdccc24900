//! SIGTERM: stop accepting, finish what is in flight, exit well before Cloud Run's
//! SIGKILL (10 s later), with the real binary.

use std::time::{Duration, Instant};

use machinemate_api::db::Db;
use machinemate_api::db::rls::UserTx;

use crate::binary::Service;
use crate::helpers::{DbProxy, TestApp, database_url, fresh_database, postgres_addr};
use crate::stand_ins::fireworks::Reply;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_promptly() {
    // A hanging database makes /health/ready take its full one-second bound: a
    // request that is reliably in flight when SIGTERM arrives.
    let proxy = DbProxy::start(postgres_addr()).await;
    proxy.hang();
    let url = proxy.url_for(&database_url(&fresh_database().await));
    let service = Service::start_logging(&[("DATABASE_URL", url)]);
    let client = reqwest::Client::new();

    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), service.url("/health/ready"));
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    service.terminate();

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 503);

    let exit = service.exit().await;
    let took = signalled.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(8), "exit took {took:?}");

    let after = client.get(service.url("/health/live")).send().await;
    assert!(after.is_err(), "the server still accepts connections");
}

#[tokio::test]
async fn sigterm_during_slow_identifications_finishes_them_refuses_new_work_and_exits() {
    // Fireworks takes 2 s per photo: identifications in flight when SIGTERM arrives.
    let app = TestApp::builder()
        .fireworks(Reply::Slow(
            Duration::from_secs(2),
            serde_json::json!({"machine": "Leg Press", "confidence": 0.9}).to_string(),
        ))
        // Callers without a token may identify (per-address limit): no Auth needed here.
        .env(("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "100"))
        .spawn_process()
        .await;

    let photo = |shade: u8| {
        let img = image::RgbImage::from_pixel(32, 24, image::Rgb([shade, 10, 10]));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let in_flight: Vec<_> = (0..4u8)
        .map(|shade| {
            let (url, bytes) = (app.url("/identify"), photo(shade));
            tokio::spawn(async move {
                let form = reqwest::multipart::Form::new().part(
                    "image",
                    reqwest::multipart::Part::bytes(bytes).file_name("p.png"),
                );
                reqwest::Client::new()
                    .post(url)
                    .multipart(form)
                    .send()
                    .await
            })
        })
        .collect();
    // All four are waiting on Fireworks.
    let waiting = Instant::now() + Duration::from_secs(5);
    while app.fireworks().calls() < 4 {
        assert!(
            Instant::now() < waiting,
            "the identifications did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    app.process().terminate();

    // New work is refused at once: the listener is closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let refused = reqwest::Client::new()
        .get(app.url("/health/live"))
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
    let exit = app.process().exit().await;
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
    let app = TestApp::builder().spawn().await;
    for checkout in [Checkout::WithConn, Checkout::UserTx, Checkout::Begin] {
        let db = app.db_with(&[("DATABASE_MAX_CONNECTIONS", "1")]);
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
                let claims = serde_json::json!({ "sub": uuid::Uuid::new_v4() }).to_string();
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
