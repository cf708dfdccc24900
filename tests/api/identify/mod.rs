//! Identification through a stand-in Fireworks server: what the model's answers become
//! (`answers.rs`), the traces and corrections kept of them (`traces.rs`), an upstream that
//! fails (`upstream.rs`), and the allowances and cache that bound the calls (`limits.rs`).

mod abandoned;
mod answers;
mod limits;
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

/// The app `builder` describes, with the Auth stand-in, and a signed-in user's token.
async fn signed_in(builder: TestAppBuilder) -> (TestApp, String) {
    let app = builder.auth().spawn().await;
    let token = app.sign_in().await;
    (app, token)
}
