//! A caller who goes away once the model has been asked: the identification happened
//! (the model was paid for), so it spends the allowance and is recorded, as abandoned,
//! where the metrics count it.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::photo;
use crate::helpers::TestApp;
use crate::stand_ins::fireworks::Reply;

/// Sends `POST /api/v1/identify` over a raw socket, waits until the model has been asked
/// `asked` times in all, then resets the connection (as a client that gives up, or a
/// front end that drops it, does).
async fn identify_then_vanish(app: &TestApp, token: &str, image: Vec<u8>, asked: usize) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.png\"\r\n\
                     Content-Type: image/png\r\n\r\n"
        .to_vec();
    body.extend_from_slice(&image);
    body.extend_from_slice(b"\r\n--b--\r\n");
    let head = format!(
        "POST /api/v1/identify HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut socket = TcpStream::connect(&address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.fireworks().calls() < asked {
        assert!(Instant::now() < deadline, "the model was never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    socket.set_zero_linger().unwrap();
    drop(socket);
}

#[tokio::test]
async fn a_caller_who_leaves_after_the_model_was_asked_still_spends_and_leaves_a_record() {
    let answer = r#"{"machine": "Leg Press", "confidence": 0.9}"#.to_owned();
    let app = TestApp::builder()
        .auth()
        .fireworks(Reply::Slow(Duration::from_millis(1000), answer))
        .spawn()
        .await;
    let (user, token) = app.sign_up_and_in().await;
    for shade in 0..3u8 {
        identify_then_vanish(&app, &token, photo(shade), usize::from(shade) + 1).await;
    }
    // The model answers a second after each was asked.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.fireworks().calls(), 3);
    let used: i32 = sqlx::query_scalar("select used from identification_quota where user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(used, 3, "three model calls, three identifications spent");
    let recorded: Vec<(bool, String)> = sqlx::query_as(
        "select abandoned, machine_name from identification_events where user_id = $1",
    )
    .bind(user)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|(abandoned, machine)| *abandoned && machine == "Seated Leg Press"),
        "{recorded:?}"
    );
    let admin = app.admin_token().await;
    let report: Value = app
        .get_json_as("/api/v1/metrics/identification", &admin)
        .await;
    let variant = &report["variants"][0];
    assert_eq!(variant["identifications"], 3, "{report}");
    assert_eq!(variant["abandoned"], 3, "{report}");
    // A caller who stays is answered as before, and is not abandoned.
    let stayed = app.identified(&token, photo(9)).await;
    let abandoned: bool =
        sqlx::query_scalar("select abandoned from identification_events where trace_id = $1")
            .bind(stayed["trace_id"].as_str().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(!abandoned);
}
