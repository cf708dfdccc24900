//! Photos built to cost CPU, against the real binary: a valid progressive JPEG that
//! repeats one of its scans thousands of times (about 1.5 ms of decoding each at this
//! size, whatever the scale) is refused once it passes libjpeg-turbo's scan limit, and
//! another user's identification meanwhile is answered as usual.

use std::time::Duration;

use reqwest::Method;

use crate::helpers::{TestApp, assert_error, photo_form};
use crate::stand_ins::fireworks::says;

/// A valid 8192 x 3900 progressive JPEG (within the pixel limits) whose last scan is
/// repeated `repeats` times: 58 bytes a scan, as the security review built it.
pub fn scan_bomb(repeats: usize) -> Vec<u8> {
    let (width, height) = (8192, 3900);
    let pixels = vec![128u8; width * height];
    let mut compressor = turbojpeg::Compressor::new().unwrap();
    compressor.set_progressive(true).unwrap();
    compressor.set_quality(50).unwrap();
    compressor.set_subsamp(turbojpeg::Subsamp::Gray).unwrap();
    let image = turbojpeg::Image {
        pixels: pixels.as_slice(),
        width,
        pitch: width,
        height,
        format: turbojpeg::PixelFormat::GRAY,
    };
    let jpeg = compressor.compress_to_vec(image).unwrap();
    // Entropy-coded data never holds FF DA (an FF there is followed by 00): the last
    // one starts the last scan, which runs to the end marker.
    let last_scan = jpeg
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .expect("a progressive JPEG has scans");
    let scan = &jpeg[last_scan..jpeg.len() - 2];
    let mut bomb = jpeg[..jpeg.len() - 2].to_vec();
    for _ in 0..repeats {
        bomb.extend_from_slice(scan);
    }
    bomb.extend_from_slice(&[0xFF, 0xD9]);
    bomb
}

/// A real photo to scale; `shade` makes distinct ones (none from the cache).
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(1200, 900, image::Rgb([90, shade, 200]));
    let mut out = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut out),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    out
}

async fn identify(app: &TestApp, token: &str, photo: Vec<u8>) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/identify", token)
        .multipart(photo_form("image", photo, "photo.jpg", "image/jpeg"))
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_jpeg_that_repeats_its_scans_is_refused_without_holding_up_anyone() {
    let app = TestApp::builder()
        .auth()
        .fireworks(says("leg press", 0.9))
        .spawn_process()
        .await;
    let (hostile, hostile_token) = app.sign_up_and_in().await;
    let token = app.sign_in().await;
    let bomb = scan_bomb(20_000);
    let size_kb = bomb.len() / 1024;
    assert!(size_kb > 1000, "{size_kb} KB");
    // Warm: one photo through the whole path first.
    assert_eq!(identify(&app, &token, photo(1)).await.status(), 200);

    // Alone: what the file costs the service.
    let cpu = app.process().cpu_time();
    let refused = identify(&app, &hostile_token, bomb.clone()).await;
    let spent = app.process().cpu_time() - cpu;
    let answer = assert_error(refused, 422, "validation_error").await;
    assert_eq!(
        answer.detail[0]["type"], "image_too_complex",
        "{}",
        answer.body
    );
    eprintln!(
        "photo bombs: a {size_kb} KB scan bomb refused after {} ms of the service's CPU",
        spent.as_millis()
    );
    assert!(spent < Duration::from_secs(1), "{spent:?} of CPU");
    // Again, while another user's photo arrives: that one is answered as usual.
    let (refused, other) = tokio::join!(identify(&app, &hostile_token, bomb), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        identify(&app, &token, photo(2)).await
    });
    assert_eq!(other.status(), 200, "another user is answered meanwhile");
    assert_error(refused, 422, "validation_error").await;
    // The model was never asked for it, so the allowance is given back.
    assert_eq!(app.fireworks().calls(), 2);
    let used: Option<i32> =
        sqlx::query_scalar("select used from identification_quota where user_id = $1")
            .bind(hostile)
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert_eq!(used.unwrap_or(0), 0);
}
