//! The identification proxy's own work on a 1 MB photo, without the upstream call:
//! sniffing, the cache key, scaling to at most 1024 px, the data URI, and mapping an
//! answer onto the catalog. The whole request's own share, measured over HTTP with a
//! stand-in Fireworks, is in `bench/run` (identify row).
//! Run with `cargo bench --bench identify`.

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use image::ImageFormat;
use machinemate_api::domain::identify::CatalogEntry;
use machinemate_api::vision::image::{prepare, sniff};
use machinemate_api::vision::matching::match_answer;
use sha2::{Digest, Sha256};

/// A photo-like JPEG of about 1 MB (noise compresses like a real photo).
fn one_megabyte_jpeg() -> Vec<u8> {
    let (width, height) = (2000u32, 1500u32);
    let mut state = 0x2545F4914F6CDD1Du64;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x1F) as u8;
        image::Rgb([
            ((x / 8) as u8).wrapping_add(noise),
            ((y / 6) as u8).wrapping_add(noise),
            128 + noise / 2,
        ])
    });
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    img.write_with_encoder(encoder).unwrap();
    out
}

fn catalog() -> Vec<CatalogEntry> {
    (0..47)
        .map(|i| CatalogEntry {
            id: format!("machine_{i}"),
            name: format!("Machine Number {i}"),
            synonyms: vec![
                format!("synonym {i} one"),
                format!("synonym {i} two"),
                format!("synonym {i} three"),
            ],
            visual_cues: vec![],
        })
        .collect()
}

fn bench_identify(c: &mut Criterion) {
    let photo = one_megabyte_jpeg();
    eprintln!("photo: {} bytes", photo.len());
    let entries = catalog();
    c.bench_function("identify/parts/sha256_cache_key", |b| {
        b.iter(|| Sha256::digest(std::hint::black_box(&photo)))
    });
    c.bench_function("identify/parts/prepare_scaled_jpeg", |b| {
        b.iter(|| prepare(std::hint::black_box(photo.clone()), ImageFormat::Jpeg).unwrap())
    });
    let prepared = prepare(photo.clone(), ImageFormat::Jpeg).unwrap();
    eprintln!("sent to the model: {} bytes", prepared.bytes.len());
    c.bench_function("identify/parts/base64_data_uri", |b| {
        b.iter(|| {
            base64::engine::general_purpose::STANDARD.encode(std::hint::black_box(&prepared.bytes))
        })
    });
    c.bench_function("identify/proxy_work_1mb_photo", |b| {
        b.iter(|| {
            let format = sniff(&photo).unwrap();
            let key = Sha256::digest(&photo);
            let prepared = prepare(std::hint::black_box(photo.clone()), format).unwrap();
            let uri = base64::engine::general_purpose::STANDARD.encode(&prepared.bytes);
            let matched = match_answer("Machine Numbr 17", &entries);
            (key, uri.len(), matched.best.is_some())
        })
    });
}

criterion_group!(benches, bench_identify);
criterion_main!(benches);
