//! Scale-out: three instances of the service on one database, as Cloud Run runs them,
//! with requests spread across them. Quotas stay exact, an idempotency key used on one
//! instance is honoured on the others, traces and sync cursors work from any instance,
//! and an admin's catalog change reaches every instance within the freshness bound.
//!
//! `shared.rs`: quotas, idempotency keys, traces and sync cursors; `catalog.rs`: catalog
//! changes. (Two-instance versions of the catalog bound and of traces after a restart are in
//! `tests/api/catalog.rs` and `tests/api/identify/traces.rs`.)

mod catalog;
mod shared;

use crate::helpers::{TestApp, TestAppBuilder};
use crate::stand_ins::fireworks::says;

/// Three instances of the app `builder` describes, on one fresh database, with the Auth
/// and Fireworks stand-ins; the first is where users sign up.
struct Cluster {
    apps: Vec<TestApp>,
}

impl Cluster {
    /// Instance `i` of three, round robin.
    fn at(&self, i: usize) -> &TestApp {
        &self.apps[i % self.apps.len()]
    }
}

async fn cluster(builder: TestAppBuilder) -> Cluster {
    let first = builder
        .auth()
        .fireworks(says("Leg Press", 0.9))
        .spawn()
        .await;
    let second = first.another_instance().spawn().await;
    let third = first.another_instance().spawn().await;
    Cluster {
        apps: vec![first, second, third],
    }
}

/// A real PNG; `shade` makes distinct photos (distinct cache keys).
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([shade, 60, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
