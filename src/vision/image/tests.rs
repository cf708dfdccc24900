use super::from_jpeg::{JPEG_SCALES, jpeg_scale_for};
use super::*;
use image::ImageDecoder;
use image::metadata::Orientation;
use std::io::Cursor;

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 40, 40]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn formats_come_from_the_bytes() {
    assert_eq!(sniff(&png(2, 2)).unwrap(), ImageFormat::Png);
    assert!(
        matches!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Err(ApiError::UnsupportedMediaType(m)) if m.contains("WebP"))
    );
    assert!(
        matches!(sniff(b"\0\0\0\x18ftypheic\0\0"), Err(ApiError::UnsupportedMediaType(m)) if m.contains("HEIC"))
    );
    assert!(sniff(b"GIF89a").is_err());
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

/// `jpeg` with an EXIF block saying "rotate 90° clockwise to display" (orientation 6).
fn sideways_jpeg(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 1]); // one entry
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // orientation = 6
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn dimensions(prepared: &Prepared) -> (u32, u32) {
    let img = image::load_from_memory(&prepared.bytes).unwrap();
    (img.width(), img.height())
}

#[test]
fn jpegs_decode_at_the_largest_dct_scale_that_fits() {
    assert_eq!(jpeg_scale_for(1025), ((7, 8), false));
    assert_eq!(jpeg_scale_for(2000), ((1, 2), false));
    assert_eq!(jpeg_scale_for(2100), ((3, 8), false));
    assert_eq!(jpeg_scale_for(4032), ((1, 4), false));
    assert_eq!(jpeg_scale_for(5000), ((1, 4), true));
    assert_eq!(jpeg_scale_for(6000), ((1, 8), false));
    assert_eq!(jpeg_scale_for(MAX_SOURCE_SIDE), ((1, 8), false));
    let supported = turbojpeg::Decompressor::supported_scaling_factors();
    for (num, denom) in JPEG_SCALES {
        assert!(
            supported.contains(&turbojpeg::ScalingFactor::new(num, denom)),
            "{num}/{denom} is not a libjpeg-turbo scale"
        );
    }
    for longest in (1025..=MAX_SOURCE_SIDE).step_by(7) {
        let ((num, denom), resample) = jpeg_scale_for(longest);
        let scaled = (longest * num).div_ceil(denom);
        let range = if resample { 1025..=1366 } else { 683..=1024 };
        assert!(range.contains(&scaled), "{longest} -> {scaled}");
    }
}

#[test]
fn large_jpegs_are_scaled_small_ones_kept_and_sideways_ones_turned() {
    let small = jpeg(800, 600);
    let kept = prepare(small.clone(), ImageFormat::Jpeg).unwrap();
    assert_eq!((kept.bytes.to_vec(), kept.mime), (small, "image/jpeg"));

    let scaled = prepare(jpeg(2000, 1500), ImageFormat::Jpeg).unwrap();
    assert_eq!(
        (scaled.mime, dimensions(&scaled)),
        ("image/jpeg", (1000, 750))
    );

    let sideways = sideways_jpeg(2000, 1500);
    assert_eq!(
        image::codecs::jpeg::JpegDecoder::new(Cursor::new(&sideways))
            .unwrap()
            .orientation()
            .unwrap(),
        Orientation::Rotate90
    );
    let turned = prepare(sideways, ImageFormat::Jpeg).unwrap();
    assert_eq!(dimensions(&turned), (750, 1000));

    let huge = prepare(jpeg(5000, 1000), ImageFormat::Jpeg).unwrap();
    assert_eq!(dimensions(&huge).0, 1024);
}

#[test]
fn photos_too_large_to_decode_safely_are_refused_from_their_header() {
    // A small JPEG whose frame header claims a huge size: refused before decoding.
    let claiming = |width: u16, height: u16| {
        let mut bytes = jpeg(16, 16);
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    };
    for (width, height) in [(9000, 8), (6000, 6000), (60000, 60000)] {
        let refused = prepare(claiming(width, height), ImageFormat::Jpeg);
        assert!(
            matches!(&refused, Err(ApiError::Validation(issues)) if issues[0].kind == "image_too_large"),
            "{width}x{height}"
        );
    }
    assert!(matches!(
        prepare(b"\xFF\xD8\xFF\xE0 truncated".to_vec(), ImageFormat::Jpeg),
        Err(ApiError::Validation(_))
    ));
}

#[test]
fn large_photos_are_scaled_down_and_small_ones_kept() {
    let small = png(300, 200);
    let kept = prepare(small.clone(), ImageFormat::Png).unwrap();
    assert_eq!((kept.bytes.to_vec(), kept.mime), (small, "image/png"));
    let scaled = prepare(png(2048, 1024), ImageFormat::Png).unwrap();
    assert_eq!(scaled.mime, "image/jpeg");
    let img = image::load_from_memory(&scaled.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1024, 512));
    assert!(prepare(b"\x89PNG\r\n\x1a\nnot really".to_vec(), ImageFormat::Png).is_err());
}

#[test]
fn a_png_too_large_to_decode_is_refused_before_any_pixel_is_held() {
    // 16-bit RGBA, 3000 x 3000: 69 MB of pixels from a few kilobytes of file.
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, 3000, 3000);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut header = encoder.write_header().unwrap();
        let mut rows = header.stream_writer().unwrap();
        let row = vec![7u8; 3000 * 8];
        for _ in 0..3000 {
            std::io::Write::write_all(&mut rows, &row).unwrap();
        }
        rows.finish().unwrap();
    }
    assert!(file.len() < 1024 * 1024, "{} bytes", file.len());
    let refused = prepare(file, ImageFormat::Png);
    assert!(
        matches!(&refused, Err(ApiError::Validation(issues)) if issues[0].kind == "image_too_large" && issues[0].msg.contains("69 MB")),
        "{:?}",
        refused.err()
    );
    // 8-bit RGB of the same size (27 MB) is within the budget, and scaled.
    let scaled = prepare(png(3000, 3000), ImageFormat::Png).unwrap();
    assert_eq!(scaled.mime, "image/jpeg");
}
