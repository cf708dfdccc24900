//! What the JPEG and PNG paths share: the limits a photo is held to, the photo as sent
//! to the model, its encoding, and the refusals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::web::Bytes;

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
pub(super) const QUALITY: i32 = 85;
/// The most scans a progressive JPEG may have. Encoders write six to ten (libjpeg's and
/// mozjpeg's scripts; phones write baseline JPEGs, one scan). Each scan is decoded over
/// every block of the photo whatever the scale: a refinement scan repeated over a 32
/// megapixel photo costs about 27 ms a time, so a file that repeats one thousands of
/// times cost minutes (the exploit libjpeg-turbo's scan limit exists for); 16 of them,
/// under half a second.
pub const MAX_JPEG_SCANS: u32 = 16;
/// Longest a request waits for its photo's decode before a 422. The limits above bound
/// a decode well under it; this bounds the wait whatever else a file may hold.
pub const DECODE_DEADLINE: Duration = Duration::from_secs(5);

/// A photo as the model is sent it.
pub struct Prepared {
    pub bytes: Bytes,
    pub mime: &'static str,
}

/// Stops a preparation nobody waits for any more.
pub(super) fn still(wanted: &AtomicBool) -> Result<(), ApiError> {
    if wanted.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(ApiError::Unavailable(
            "The photo is no longer wanted".into(),
        ))
    }
}

pub(super) fn check_source_size(width: usize, height: usize) -> Result<(), ApiError> {
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

pub(super) fn encode(rgb: image::RgbImage) -> Result<Prepared, ApiError> {
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

pub(super) fn codec_failure(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("jpeg codec: {e}"))
}

/// A photo that would cost too much to decode: a 422 naming why.
pub(super) fn too_costly(why: String) -> ApiError {
    ApiError::Validation(vec![crate::error::ValidationIssue::new(
        vec!["body".into(), "image".into()],
        "image_too_complex",
        why,
    )])
}

pub(super) fn undecodable() -> ApiError {
    ApiError::Validation(vec![crate::error::ValidationIssue::new(
        vec!["body".into(), "image".into()],
        "image_invalid",
        "The image could not be read",
    )])
}
