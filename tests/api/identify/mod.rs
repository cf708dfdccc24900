//! Identification through a stand-in Fireworks server: what the model's answers become
//! (`answers.rs`), the traces and corrections kept of them (`traces.rs`), an upstream that
//! fails (`upstream.rs`), the allowances and cache that bound the calls (`limits.rs`),
//! the global daily model budget (`budget.rs`), and the local stand-in that answers
//! without a model (`stand_in.rs`).

mod abandoned;
mod answers;
mod budget;
mod limits;
mod stand_in;
mod traces;
mod upstream;

use crate::helpers::{TestApp, TestAppBuilder};

/// A real PNG photo; `shade` makes distinct photos (distinct cache keys).
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([shade, 90, 160]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A 2000 x 1500 JPEG: over 1024 px, so it is decoded and scaled before the model sees it.
fn large_jpeg() -> Vec<u8> {
    let big = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 60])
    });
    let mut jpeg = Vec::new();
    big.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    jpeg
}

/// The app `builder` describes, with the Auth stand-in, and a signed-in user's token.
async fn signed_in(builder: TestAppBuilder) -> (TestApp, String) {
    let app = builder.auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}
