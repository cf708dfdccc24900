//! Identification quality: prompt variants dealt deterministically, a Fireworks stand-in
//! that answers differently per variant, users who correct (or do not), and what
//! `GET /api/v1/metrics/identification` (`variants.rs`, `reports.rs`), Prometheus and
//! `machinemate-api eval` (`reports.rs`) make of it.

mod reports;
mod variants;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::stand_ins::fireworks::{Reply, says, variant_of};

const VARIANTS: &str = "catalog-v2:40,cues-v1:40,describe-v1:20";
const EXPERIMENT: &str = "quality-test";

/// Every photo shows the hack squat. `catalog-v2` always takes it for the leg press;
/// `cues-v1` is right three times in four; `describe-v1` rambles (no JSON) every time.
fn responder() -> impl Fn(&Value) -> Reply + Send + Sync {
    let cues = Arc::new(AtomicUsize::new(0));
    move |request| match variant_of(request) {
        "catalog-v2" => says("Seated Leg Press", 0.9),
        "cues-v1" => {
            if cues.fetch_add(1, Ordering::SeqCst) % 4 == 3 {
                says("Seated Leg Press", 0.65)
            } else {
                says("Hack Squat Machine", 0.85)
            }
        }
        _ => Reply::Content("It looks like a squat machine of some kind.".into()),
    }
}

fn photo(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(n % 256) as u8, (x * 5) as u8, (y * 7) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The app with the three variants of `VARIANTS` in the `EXPERIMENT`, and a model that
/// answers as `responder` says.
async fn quality_app() -> TestApp {
    let app = TestApp::builder()
        .auth()
        .fireworks(says("Unknown", 0.0))
        .env(("IDENTIFY_PROMPT_VARIANTS", VARIANTS))
        .env(("IDENTIFY_EXPERIMENT", EXPERIMENT))
        .spawn()
        .await;
    app.fireworks().set_responder(responder());
    app
}

/// The trace of an identification, as its owner reads it.
async fn trace(app: &TestApp, token: &str, trace_id: &str) -> Value {
    app.trace(token, trace_id).await.json().await.unwrap()
}

/// The owner's correction: it was the hack squat, found through `source`.
async fn correct(app: &TestApp, token: &str, trace_id: &str, source: &str) -> reqwest::Response {
    app.correct(
        token,
        trace_id,
        json!({"machine_id": "hack_squat_machine", "source": source}),
    )
    .await
}
