//! PNGs: refused before decoding when their pixels would take too much memory, else
//! decoded whole and scaled.

use std::io::Cursor;
use std::sync::atomic::AtomicBool;

use actix_web::web::Bytes;
use image::ImageDecoder;

use super::shared::{
    MAX_PNG_DECODE_BYTES, MAX_SIDE, Prepared, check_source_size, encode, still, undecodable,
};
use crate::error::ApiError;

pub(super) fn prepare_png(bytes: Bytes, wanted: &AtomicBool) -> Result<Prepared, ApiError> {
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
    still(wanted)?;
    encode(decoded.thumbnail(MAX_SIDE, MAX_SIDE).to_rgb8())
}
