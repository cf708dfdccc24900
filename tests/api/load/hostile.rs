//! The hostile clients of the second security review, during the mixed traffic: one
//! user trickles a byte a second into eight photo uploads (`UPLOADS_IN_MEMORY`), another
//! sends progressive JPEGs that repeat their scans, and a canary user identifies an
//! ordinary photo every second throughout, so the report can set other users'
//! latencies during the attacks against those outside them.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::helpers::{TestApp, photo_form};
use crate::photo_bombs::scan_bomb;
use crate::trickling::upload_slowly;

/// When the attacks run.
#[derive(Clone, Copy)]
pub struct Window {
    pub from: Instant,
    pub to: Instant,
}

impl Window {
    pub fn holds(&self, at: Instant) -> bool {
        at >= self.from && at < self.to
    }
}

/// What the attackers got.
#[derive(Default, Debug)]
pub struct Attacks {
    /// Scan bombs answered 422 `image_too_complex`, and anything else they got.
    pub bombs_refused: usize,
    pub bombs_otherwise: Vec<u16>,
    /// Trickling uploads opened (each reopened when the service cut it off).
    pub trickles_opened: usize,
}

/// The scan bomb the attack sends (built once, before the load starts: it takes a moment).
pub fn bomb() -> Vec<u8> {
    scan_bomb(20_000)
}

/// Runs both attacks through `window`.
pub async fn attack(
    app: &TestApp,
    (trickler, bomber): (&str, &str),
    bomb: Vec<u8>,
    window: Window,
) -> Attacks {
    tokio::time::sleep_until(window.from.into()).await;
    let mut attacks = Attacks::default();
    let trickling = async {
        let mut open = Vec::new();
        let mut opened = 0;
        while Instant::now() < window.to {
            open.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
            while open.len() < 8 {
                open.push(
                    upload_slowly(
                        app,
                        "/identify",
                        trickler,
                        2 << 20,
                        64,
                        Duration::from_secs(1),
                    )
                    .await,
                );
                opened += 1;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for trickle in open {
            trickle.abort();
        }
        opened
    };
    let bombing = async {
        let (mut refused, mut other) = (0, Vec::new());
        while Instant::now() < window.to {
            let answer = app
                .request(Method::POST, "/api/v1/identify", bomber)
                .multipart(photo_form("image", bomb.clone(), "b.jpg", "image/jpeg"))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            match answer {
                Ok(r) if r.status() == 422 => refused += 1,
                Ok(r) => other.push(r.status().as_u16()),
                Err(_) => other.push(0),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        (refused, other)
    };
    let (opened, (refused, other)) = tokio::join!(trickling, bombing);
    attacks.trickles_opened = opened;
    attacks.bombs_refused = refused;
    attacks.bombs_otherwise = other;
    attacks
}

/// A user identifying an ordinary photo every second until `until`: when each started,
/// its latency (ms) and status.
pub async fn canary(app: &TestApp, token: &str, until: Instant) -> Vec<(Instant, u32, u16)> {
    // Connections of its own, as a user's phone has: the test app's client pools its
    // connections for every client of the load, the attackers' included, and a canary
    // request sent on a pooled connection the server was closing got no answer (CI,
    // hyper's IncompleteMessage 14 ms after sending): a measure of the client's pool,
    // not of the service.
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut shade = 0u8;
    while Instant::now() < until {
        shade = shade.wrapping_add(1);
        let img = image::RgbImage::from_pixel(1600, 1200, image::Rgb([shade, 100, 50]));
        let mut photo = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut photo),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
        let started = Instant::now();
        let status = client
            .request(Method::POST, app.url("/api/v1/identify"))
            .bearer_auth(token)
            .multipart(photo_form("image", photo, "p.jpg", "image/jpeg"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_or_else(
                |e| {
                    // Status 0: no answer; the chain says why (reset, timeout, refused).
                    eprintln!("canary: no answer after {:?}: {e:?}", started.elapsed());
                    0
                },
                |r| r.status().as_u16(),
            );
        seen.push((started, started.elapsed().as_millis() as u32, status));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    seen
}

/// The 99th percentile of `latencies` (0 for none).
pub fn p99(mut latencies: Vec<u32>) -> u32 {
    latencies.sort_unstable();
    latencies
        .get(
            latencies
                .len()
                .saturating_sub(1)
                .min(latencies.len() * 99 / 100),
        )
        .copied()
        .unwrap_or(0)
}
