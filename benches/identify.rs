//! The identification proxy's own work on a 1 MB photo, without the upstream call:
//! sniffing, scaling to 1024 px, the data URI, and mapping an answer onto the catalog.
//! Run with `cargo bench --bench identify`.

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use machinemate_api::vision::image::{prepare, sniff};
use machinemate_api::vision::matching::{CatalogEntry, match_answer};

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
    c.bench_function("identify/parts/decode", |b| {
        b.iter(|| image::load_from_memory(std::hint::black_box(&photo)).unwrap())
    });
    let decoded = image::load_from_memory(&photo).unwrap();
    c.bench_function("identify/parts/thumbnail", |b| {
        b.iter(|| std::hint::black_box(&decoded).thumbnail(1024, 1024))
    });
    c.bench_function("identify/parts/resize_triangle", |b| {
        b.iter(|| {
            std::hint::black_box(&decoded).resize(1024, 1024, image::imageops::FilterType::Triangle)
        })
    });
    let small = decoded.thumbnail(1024, 1024).to_rgb8();
    c.bench_function("identify/parts/encode", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            small.write_with_encoder(encoder).unwrap();
            out
        })
    });
    c.bench_function("identify/proxy_work_1mb_photo", |b| {
        b.iter(|| {
            let format = sniff(&photo).unwrap();
            let prepared = prepare(std::hint::black_box(photo.clone()), format).unwrap();
            let uri = base64::engine::general_purpose::STANDARD.encode(&prepared.bytes);
            let matched = match_answer("Machine Numbr 17", &entries);
            (uri.len(), matched.best.is_some())
        })
    });
}

criterion_group!(benches, bench_identify);
criterion_main!(benches);
