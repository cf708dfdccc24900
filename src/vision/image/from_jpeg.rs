//! JPEGs: decoded by libjpeg-turbo straight to the largest DCT scale that fits, with
//! the scan limit set, and turned upright as their EXIF orientation says.

use std::io::Cursor;
use std::sync::atomic::AtomicBool;

use actix_web::web::Bytes;
use image::ImageDecoder;
use image::metadata::Orientation;

use super::shared::{
    MAX_JPEG_SCANS, MAX_SIDE, Prepared, check_source_size, codec_failure, encode, still,
    too_costly, undecodable,
};
use crate::error::ApiError;

/// The DCT scaling factors libjpeg-turbo decodes with, largest first. Decoding straight
/// to a smaller size skips most of the inverse DCT and all of the resampling.
pub(super) const JPEG_SCALES: [(usize, usize); 8] = [
    (1, 1),
    (7, 8),
    (3, 4),
    (5, 8),
    (1, 2),
    (3, 8),
    (1, 4),
    (1, 8),
];

pub(super) fn prepare_jpeg(bytes: Bytes, wanted: &AtomicBool) -> Result<Prepared, ApiError> {
    let mut decompressor = turbojpeg::Decompressor::new().map_err(codec_failure)?;
    let header = decompressor
        .read_header(&bytes)
        .map_err(|_| undecodable())?;
    check_source_size(header.width, header.height)?;
    let longest = header.width.max(header.height);
    if longest <= MAX_SIDE as usize {
        return Ok(Prepared {
            bytes,
            mime: "image/jpeg",
        });
    }
    let ((num, denom), resample) = jpeg_scale_for(longest);
    let factor = turbojpeg::ScalingFactor::new(num, denom);
    decompressor
        .set_scaling_factor(factor)
        .map_err(codec_failure)?;
    decompressor
        .set_scan_limit(MAX_JPEG_SCANS)
        .map_err(codec_failure)?;
    let size = header.scaled(factor);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; size.width * size.height * 3],
        width: size.width,
        pitch: size.width * 3,
        height: size.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor
        .decompress(&bytes, image.as_deref_mut())
        .map_err(|e| {
            // libjpeg-turbo: "Progressive JPEG image has more than N scans".
            if e.to_string().contains("scans") {
                too_costly(format!(
                    "The JPEG has more than {MAX_JPEG_SCANS} progressive scans: send it as saved by a camera or editor"
                ))
            } else {
                undecodable()
            }
        })?;
    still(wanted)?;
    let rgb = image::RgbImage::from_raw(size.width as u32, size.height as u32, image.pixels)
        .ok_or_else(|| codec_failure("decoded buffer size"))?;
    let rgb = if resample {
        image::imageops::thumbnail(&rgb, MAX_SIDE, MAX_SIDE)
    } else {
        rgb
    };
    encode(upright(rgb, jpeg_orientation(&bytes)))
}

/// The largest DCT scale at which the longest side fits in `MAX_SIDE`, unless that
/// leaves under two thirds of it (sources of 4097 to 5463 px, where only 1/8 fits): then the
/// next scale up, and `true` to say the result still needs resampling to `MAX_SIDE`.
pub(super) fn jpeg_scale_for(longest: usize) -> ((usize, usize), bool) {
    let max = MAX_SIDE as usize;
    let fits = JPEG_SCALES
        .iter()
        .position(|&(num, denom)| (longest * num).div_ceil(denom) <= max)
        .unwrap_or(JPEG_SCALES.len() - 1);
    let (num, denom) = JPEG_SCALES[fits];
    if fits > 0 && (longest * num).div_ceil(denom) * 3 < max * 2 {
        (JPEG_SCALES[fits - 1], true)
    } else {
        ((num, denom), false)
    }
}

/// The EXIF orientation of a JPEG (headers only); upright when absent or unreadable.
fn jpeg_orientation(bytes: &[u8]) -> Orientation {
    image::codecs::jpeg::JpegDecoder::new(Cursor::new(bytes))
        .and_then(|mut decoder| decoder.orientation())
        .unwrap_or(Orientation::NoTransforms)
}

/// Phones store portrait photos sideways with an EXIF note; re-encoding drops EXIF, so
/// the pixels are turned instead and the model sees the machine upright.
fn upright(rgb: image::RgbImage, orientation: Orientation) -> image::RgbImage {
    if orientation == Orientation::NoTransforms {
        return rgb;
    }
    let mut image = image::DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(orientation);
    image.into_rgb8()
}
