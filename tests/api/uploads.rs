//! Photos arriving in numbers, and photos built to be expensive, against the real binary:
//! its peak memory stays under a stated bound (an instance has 512 MiB), a PNG that would
//! take hundreds of megabytes to decode is refused before any are taken, and a caller
//! whose daily allowance is spent is refused before their photo is even read.
//! `MM_BINARY=<path>` runs them against another build, to measure it.

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_error, photo_form};
use crate::stand_ins::fireworks::says;

/// Peak resident memory allowed through a burst of uploads, under two fifths of the instance's
/// 512 MiB: warm (about 40 MiB in this debug build), plus `UPLOADS_IN_MEMORY` (8) photos of
/// 10 MB, plus decoding (one per CPU), plus margin.
const PEAK_BOUND_MIB: u64 = 192;
/// Concurrent uploads in the burst, as the security review sent them.
const BURST: usize = 32;

/// The real binary, with the Auth and Fireworks stand-ins and a daily allowance of 1000
/// photos unless `extra` says otherwise, and a signed-in user's token.
async fn service(extra: &[(&str, &str)]) -> (TestApp, String) {
    let mut builder = TestApp::builder()
        .auth()
        .fireworks(says("leg press", 0.9))
        .env(("IDENTIFY_DAILY_LIMIT", "1000"));
    for pair in extra {
        builder = builder.env(*pair);
    }
    let app = builder.spawn_process().await;
    let token = app.sign_in().await;
    (app, token)
}

/// `POST /identify` with a photo of type `mime`, allowing a minute for the answer.
async fn identify(app: &TestApp, token: &str, photo: Vec<u8>, mime: &str) -> reqwest::Response {
    app.request(Method::POST, "/identify", token)
        .multipart(photo_form("image", photo, "photo", mime))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
}

/// A real 2000 x 1500 photo, padded after its end marker to just under 10 MB (decoders
/// stop at the marker); `n` makes each one distinct, so none comes from the cache.
fn ten_megabyte_jpeg(base: &[u8], n: usize) -> Vec<u8> {
    let mut photo = base.to_vec();
    let target = 10 * 1024 * 1024 - 16 * 1024;
    let mut state = n as u64 + 1;
    while photo.len() < target {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        photo.extend_from_slice(&state.to_le_bytes());
    }
    photo.truncate(target);
    photo
}

fn base_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([
            (x * 7 % 251) as u8,
            (y * 3 % 241) as u8,
            ((x ^ y) % 239) as u8,
        ])
    });
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

/// The review's PNG: 16-bit RGBA, 5650 x 5650 (255 MB of pixels), about 250 KB of file.
fn sixteen_bit_png() -> Vec<u8> {
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, 5650, 5650);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut header = encoder.write_header().unwrap();
        let mut rows = header.stream_writer().unwrap();
        let row = vec![7u8; 5650 * 8];
        for _ in 0..5650 {
            std::io::Write::write_all(&mut rows, &row).unwrap();
        }
        rows.finish().unwrap();
    }
    file
}

/// Heavy (320 MB through the service): `#[ignore]`d in the plain suite; run by
/// `scripts/load-test` (`.ci/run`).
#[tokio::test]
#[ignore = "heavy: run by scripts/load-test"]
async fn a_burst_of_ten_megabyte_photos_stays_within_the_memory_bound() {
    let (app, token) = service(&[]).await;
    // Warm: one photo through the whole path first.
    let base = base_jpeg();
    assert_eq!(
        identify(&app, &token, base.clone(), "image/jpeg")
            .await
            .status(),
        200
    );
    let warm = app.process().rss_kib();
    let photos: Vec<Vec<u8>> = (0..BURST).map(|n| ten_megabyte_jpeg(&base, n)).collect();
    // From as many users (one user holds at most two of the turns at once).
    let mut tokens = Vec::new();
    for _ in 0..BURST {
        tokens.push(app.sign_in().await);
    }
    let answers = futures_util::future::join_all(
        photos
            .into_iter()
            .zip(&tokens)
            .map(|(photo, token)| identify(&app, token, photo, "image/jpeg")),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let peak = app.process().peak_rss_kib();
    eprintln!(
        "uploads: {BURST} concurrent 10 MB identifications: warm {} MiB, peak {} MiB",
        warm / 1024,
        peak / 1024
    );
    assert!(
        peak / 1024 < PEAK_BOUND_MIB,
        "peak resident memory {} MiB, bound {PEAK_BOUND_MIB} MiB",
        peak / 1024
    );
}

#[tokio::test]
async fn a_png_built_to_be_expensive_is_refused_before_it_is_decoded() {
    let (app, token) = service(&[]).await;
    let png = sixteen_bit_png();
    assert!(png.len() < 400 * 1024, "{} bytes", png.len());
    assert_eq!(
        identify(&app, &token, base_jpeg(), "image/jpeg")
            .await
            .status(),
        200
    );
    let before = app.process().peak_rss_kib();
    let started = std::time::Instant::now();
    let refused = identify(&app, &token, png, "image/png").await;
    let took = started.elapsed();
    assert_eq!(refused.status(), 422);
    let answer = assert_error(refused, 422, "validation_error").await;
    assert_eq!(
        answer.detail[0]["type"], "image_too_large",
        "{}",
        answer.body
    );
    let grew = app.process().peak_rss_kib().saturating_sub(before);
    eprintln!(
        "uploads: 16-bit 5650 x 5650 PNG refused in {} ms, peak grew {} MiB",
        took.as_millis(),
        grew / 1024
    );
    assert!(grew < 32 * 1024, "the peak grew {} MiB", grew / 1024);
}

#[tokio::test]
async fn a_caller_whose_allowance_is_spent_is_refused_before_the_photo_is_read() {
    let (app, token) = service(&[("IDENTIFY_DAILY_LIMIT", "1")]).await;
    assert_eq!(
        identify(&app, &token, base_jpeg(), "image/jpeg")
            .await
            .status(),
        200
    );
    // Announce a 10 MB photo, send only the head of the form, and wait: the 429 arrives
    // while the photo is still unsent.
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /identify HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10485760\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&sixteen_bit_png()[..4096]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("answered without the rest of the photo")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after:"), "{answer}");
}
