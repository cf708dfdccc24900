//! Photos sent slowly on purpose: a turn to hold a photo in memory (`UPLOADS_IN_MEMORY`,
//! shared by everyone) is taken only once a photo has mostly arrived, and one user holds
//! at most two, so a user trickling bytes into many uploads holds nothing another user
//! needs, and everyone else's photos are answered as usual.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::helpers::{TestApp, photo_form};
use crate::stand_ins::fireworks::says;

/// Starts an upload of a `declared`-byte JPEG to `path` over a raw socket, sends
/// `first` bytes of it at once, then one more byte every `every` (for as long as the
/// test runs).
pub async fn upload_slowly(
    app: &TestApp,
    path: &str,
    token: &str,
    declared: usize,
    first: usize,
    every: Duration,
) -> JoinHandle<()> {
    let address = app.address.trim_start_matches("http://").to_owned();
    let field = if path.contains("media") {
        "file"
    } else {
        "image"
    };
    let preamble = format!(
        "--b\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"p.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n{preamble}",
        preamble.len() + declared + 8
    );
    let mut socket = TcpStream::connect(&address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut start = vec![0xFF, 0xD8, 0xFF, 0xE0];
    start.resize(first, 0x42);
    socket.write_all(&start).await.unwrap();
    tokio::spawn(async move {
        while socket.write_all(b"B").await.is_ok() {
            tokio::time::sleep(every).await;
        }
    })
}

/// A real photo to scale; `shade` makes distinct ones.
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(1600, 1200, image::Rgb([shade, 80, 160]));
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

async fn service() -> (TestApp, String, String) {
    let app = TestApp::builder()
        .auth()
        .storage()
        .fireworks(says("Leg Press", 0.9))
        .env(("IDENTIFY_DAILY_LIMIT", "100"))
        .spawn()
        .await;
    let hostile = app.sign_in().await;
    let other = app.sign_in().await;
    (app, hostile, other)
}

/// The other user's identification and upload: both must be answered as usual.
async fn others_are_served(app: &TestApp, token: &str) {
    let started = std::time::Instant::now();
    let identified = app
        .request(reqwest::Method::POST, "/api/v1/identify", token)
        .multipart(photo_form("image", photo(7), "p.jpg", "image/jpeg"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(identified.status(), 200, "another user's identification");
    eprintln!(
        "trickling: another user's identification answered in {} ms",
        started.elapsed().as_millis()
    );
    let uploaded = app.upload(token, photo(8), "image/jpeg").await;
    assert_eq!(uploaded.status(), 201, "another user's upload");
}

#[tokio::test]
async fn a_user_trickling_photos_into_every_upload_holds_no_turn() {
    let (app, hostile, other) = service().await;
    // Eight uploads (UPLOADS_IN_MEMORY) of a 2 MB photo, a byte a second each, to both
    // routes that read photos (two uploads: one user writes at most two at once).
    let mut trickles = Vec::new();
    for i in 0..8 {
        let path = if i < 6 {
            "/identify"
        } else {
            "/api/v1/media/upload"
        };
        trickles
            .push(upload_slowly(&app, path, &hostile, 2 << 20, 64, Duration::from_secs(1)).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    others_are_served(&app, &other).await;
    for trickle in trickles {
        trickle.abort();
    }
}

#[tokio::test]
async fn one_user_holds_at_most_two_turns_however_many_uploads_they_start() {
    let (app, hostile, other) = service().await;
    // Eight photos sent fast up to 1 MB, then stalled: each wants a turn to go on.
    let mut stalls = Vec::new();
    for i in 0..8 {
        let path = if i < 6 {
            "/identify"
        } else {
            "/api/v1/media/upload"
        };
        stalls.push(
            upload_slowly(
                &app,
                path,
                &hostile,
                2 << 20,
                1 << 20,
                Duration::from_secs(5),
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    others_are_served(&app, &other).await;
    for stall in stalls {
        stall.abort();
    }
}
