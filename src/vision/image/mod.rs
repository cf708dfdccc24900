//! Photos on their way to the model: JPEG or PNG by their bytes, scaled down so calls
//! are faster and cheaper (the model sees no more detail than this anyway).

mod from_jpeg;
mod from_png;
mod shared;

pub use shared::{
    DECODE_DEADLINE, MAX_IMAGE_BYTES, MAX_JPEG_SCANS, MAX_PNG_DECODE_BYTES, MAX_SIDE,
    MAX_SOURCE_PIXELS, MAX_SOURCE_SIDE, Prepared,
};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use actix_web::web::Bytes;
use image::ImageFormat;
use tokio::sync::Semaphore;

use crate::domain::image_kind::ImageKind;
use crate::error::ApiError;
use shared::too_costly;

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
/// CPU-bound, and the bound also caps the memory that photos being decoded can hold. A
/// decode is bounded by the photo's limits (pixels, size, [`MAX_JPEG_SCANS`]); past
/// [`DECODE_DEADLINE`] the request is answered 422 without waiting for it. A decode keeps
/// its CPU turn until it really ends, and one whose request is gone stops at its next
/// step (the decode itself cannot be interrupted, its resampling and encoding can).
pub async fn prepare_off_thread(bytes: Bytes, format: ImageFormat) -> Result<Prepared, ApiError> {
    static PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
        Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ))
    });
    let permit = PERMITS
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("photo permits: {e}")))?;
    let wanted = Wanted(Arc::new(AtomicBool::new(true)));
    let still_wanted = wanted.0.clone();
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        prepare_while(bytes, format, &still_wanted)
    });
    match tokio::time::timeout(DECODE_DEADLINE, work).await {
        Ok(done) => {
            done.map_err(|e| ApiError::Internal(anyhow::anyhow!("scaling the photo: {e}")))?
        }
        Err(_) => Err(too_costly(format!(
            "The photo took over {} s to decode: send a smaller or simpler one",
            DECODE_DEADLINE.as_secs()
        ))),
    }
}

/// Whether a photo's preparation is still waited for; cleared when the waiting ends.
struct Wanted(Arc<AtomicBool>);

impl Drop for Wanted {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Scales a photo whose longest side exceeds `MAX_SIDE` down (as JPEG) and turns it
/// upright as its EXIF orientation says; smaller photos go as they are, EXIF included.
/// A JPEG is decoded straight to the largest DCT scale (n/8) that fits in `MAX_SIDE`,
/// so its longest side lands between 683 and 1024 px (resampled to 1024 px when no
/// scale lands there). A file that does not decode, or
/// is too large to decode safely, is a 422.
pub fn prepare(bytes: impl Into<Bytes>, format: ImageFormat) -> Result<Prepared, ApiError> {
    prepare_while(bytes.into(), format, &AtomicBool::new(true))
}

/// `prepare`, given up between its steps once `wanted` is cleared.
fn prepare_while(
    bytes: Bytes,
    format: ImageFormat,
    wanted: &AtomicBool,
) -> Result<Prepared, ApiError> {
    match format {
        ImageFormat::Png => from_png::prepare_png(bytes, wanted),
        _ => from_jpeg::prepare_jpeg(bytes, wanted),
    }
}

#[cfg(test)]
mod tests;
