//! Photos on their way to the model: JPEG or PNG by their bytes, scaled down so calls
//! are faster and cheaper (the model sees no more detail than this anyway).

use std::io::Cursor;
use std::sync::LazyLock;

use actix_web::web::Bytes;
use image::metadata::Orientation;
use image::{ImageDecoder, ImageFormat};
use tokio::sync::Semaphore;

use crate::domain::image_kind::ImageKind;
use crate::error::ApiError;

/// Largest photo accepted.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Longest side sent to the model.
pub const MAX_SIDE: u32 = 1024;
/// Largest photo decoded: 32 megapixels and 8192 px a side (today's phones save 12 MP by
/// default). This bounds what one decode may allocate, whatever the header claims.
pub const MAX_SOURCE_PIXELS: usize = 32_000_000;
pub const MAX_SOURCE_SIDE: usize = 8 * MAX_SIDE as usize;
/// The most a PNG may take to decode: 12 megapixels of 8-bit RGBA, or 16 of RGB. (A JPEG
/// decodes straight to a scale under `MAX_SIDE`, so it never needs more than a few MB.)
pub const MAX_PNG_DECODE_BYTES: u64 = 48 * 1024 * 1024;
/// JPEG quality of a scaled photo: no visible loss at this size, a third of the bytes.
const QUALITY: i32 = 85;

/// The DCT scaling factors libjpeg-turbo decodes with, largest first. Decoding straight
/// to a smaller size skips most of the inverse DCT and all of the resampling.
const JPEG_SCALES: [(usize, usize); 8] = [
    (1, 1),
    (7, 8),
    (3, 4),
    (5, 8),
    (1, 2),
    (3, 8),
    (1, 4),
    (1, 8),
];

pub struct Prepared {
    pub bytes: Bytes,
    pub mime: &'static str,
}

/// Refuses what is not a JPEG or PNG photo (415), naming WebP and HEIC, which the
/// model does not take.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, ApiError> {
    let refused = |why: &str| Err(ApiError::UnsupportedMediaType(why.into()));
    match ImageKind::sniff(bytes) {
        Some(ImageKind::Jpeg) => Ok(ImageFormat::Jpeg),
        Some(ImageKind::Png) => Ok(ImageFormat::Png),
        Some(ImageKind::Webp) => refused("WebP photos are not supported: send a JPEG or PNG"),
        Some(ImageKind::Heic) => refused("HEIC photos are not supported: send a JPEG or PNG"),
        None => refused("The image must be a JPEG or PNG photo"),
    }
}

/// `prepare` on the blocking pool, at most one photo per CPU at a time: decoding is
/// CPU-bound, and the bound also caps the memory that photos being decoded can hold.
pub async fn prepare_off_thread(bytes: Bytes, format: ImageFormat) -> Result<Prepared, ApiError> {
    static PERMITS: LazyLock<Semaphore> = LazyLock::new(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    });
    let _permit = PERMITS
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("photo permits: {e}")))?;
    actix_web::web::block(move || prepare(bytes, format))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("scaling the photo: {e}")))?
}

/// Scales a photo whose longest side exceeds `MAX_SIDE` down (as JPEG) and turns it
/// upright as its EXIF orientation says; smaller photos go as they are, EXIF included.
/// A JPEG is decoded straight to the largest DCT scale (n/8) that fits in `MAX_SIDE`,
/// so its longest side lands between 683 and 1024 px (resampled to 1024 px when no
/// scale lands there). A file that does not decode, or
/// is too large to decode safely, is a 422.
pub fn prepare(bytes: impl Into<Bytes>, format: ImageFormat) -> Result<Prepared, ApiError> {
    let bytes = bytes.into();
    match format {
        ImageFormat::Png => prepare_png(bytes),
        _ => prepare_jpeg(bytes),
    }
}

fn prepare_jpeg(bytes: Bytes) -> Result<Prepared, ApiError> {
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
        .map_err(|_| undecodable())?;
    let rgb = image::RgbImage::from_raw(size.width as u32, size.height as u32, image.pixels)
        .ok_or_else(|| codec_failure("decoded buffer size"))?;
    let rgb = if resample {
        image::imageops::thumbnail(&rgb, MAX_SIDE, MAX_SIDE)
    } else {
        rgb
    };
    encode(upright(rgb, jpeg_orientation(&bytes)))
}

fn prepare_png(bytes: Bytes) -> Result<Prepared, ApiError> {
    let mut decoder =
        image::codecs::png::PngDecoder::new(Cursor::new(&bytes[..])).map_err(|_| undecodable())?;
    let (width, height) = decoder.dimensions();
    check_source_size(width as usize, height as usize)?;
    if width.max(height) <= MAX_SIDE {
        return Ok(Prepared {
            bytes,
            mime: "image/png",
        });
    }
    // A PNG, unlike a JPEG, cannot be decoded at a smaller scale: its pixels are all
    // held at once, at 1 to 8 bytes each (16-bit RGBA). A few hundred kilobytes of PNG can
    // ask for hundreds of megabytes; past the budget it is refused before any is taken.
    let needed = decoder.total_bytes();
    if needed > MAX_PNG_DECODE_BYTES {
        return Err(ApiError::Validation(vec![
            crate::error::ValidationIssue::new(
                vec!["body".into(), "image".into()],
                "image_too_large",
                format!(
                    "The PNG needs {} MB to decode ({width} x {height} px, {:?}); at most {} MB: send a JPEG or a smaller PNG",
                    needed.div_ceil(1024 * 1024),
                    decoder.color_type(),
                    MAX_PNG_DECODE_BYTES / (1024 * 1024)
                ),
            ),
        ]));
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PNG_DECODE_BYTES);
    decoder.set_limits(limits).map_err(|_| undecodable())?;
    let decoded = image::DynamicImage::from_decoder(decoder).map_err(|_| undecodable())?;
    encode(decoded.thumbnail(MAX_SIDE, MAX_SIDE).to_rgb8())
}

/// The largest DCT scale at which the longest side fits in `MAX_SIDE`, unless that
/// leaves under two thirds of it (sources of 4097 to 5463 px, where only 1/8 fits): then the
/// next scale up, and `true` to say the result still needs resampling to `MAX_SIDE`.
fn jpeg_scale_for(longest: usize) -> ((usize, usize), bool) {
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

fn check_source_size(width: usize, height: usize) -> Result<(), ApiError> {
    if width.max(height) > MAX_SOURCE_SIDE || width.saturating_mul(height) > MAX_SOURCE_PIXELS {
        return Err(ApiError::Validation(vec![
            crate::error::ValidationIssue::new(
                vec!["body".into(), "image".into()],
                "image_too_large",
                "The photo is over 32 megapixels or 8192 px a side: send a smaller one",
            ),
        ]));
    }
    Ok(())
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

fn encode(rgb: image::RgbImage) -> Result<Prepared, ApiError> {
    let mut compressor = turbojpeg::Compressor::new().map_err(codec_failure)?;
    compressor.set_quality(QUALITY).map_err(codec_failure)?;
    compressor
        .set_subsamp(turbojpeg::Subsamp::Sub2x2)
        .map_err(codec_failure)?;
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let image = turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    let bytes = compressor.compress_to_vec(image).map_err(codec_failure)?;
    Ok(Prepared {
        bytes: bytes.into(),
        mime: "image/jpeg",
    })
}

fn codec_failure(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("jpeg codec: {e}"))
}

fn undecodable() -> ApiError {
    ApiError::Validation(vec![crate::error::ValidationIssue::new(
        vec!["body".into(), "image".into()],
        "image_invalid",
        "The image could not be read",
    )])
}

#[cfg(test)]
mod tests;
