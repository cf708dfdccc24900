//! Photos on their way to the model: JPEG or PNG by their bytes, scaled down so calls
//! are faster and cheaper (the model sees no more detail than this anyway).

use std::io::Cursor;

use image::ImageFormat;

use crate::error::ApiError;

/// Largest photo accepted.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Longest side sent to the model.
pub const MAX_SIDE: u32 = 1024;

pub struct Prepared {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

/// Refuses what is not a JPEG or PNG photo (415), naming WebP and HEIC, which the
/// model does not take.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, ApiError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(ImageFormat::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Err(ApiError::UnsupportedMediaType(
            "WebP photos are not supported: send a JPEG or PNG".into(),
        ))
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
    {
        Err(ApiError::UnsupportedMediaType(
            "HEIC photos are not supported: send a JPEG or PNG".into(),
        ))
    } else {
        Err(ApiError::UnsupportedMediaType(
            "The image must be a JPEG or PNG photo".into(),
        ))
    }
}

/// Scales a photo whose longest side exceeds `MAX_SIDE` down to it (as JPEG); smaller
/// photos go as they are. A file that does not decode is a 422.
pub fn prepare(bytes: Vec<u8>, format: ImageFormat) -> Result<Prepared, ApiError> {
    let mime = if format == ImageFormat::Png {
        "image/png"
    } else {
        "image/jpeg"
    };
    let reader = image::ImageReader::with_format(Cursor::new(&bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|_| undecodable())?;
    if width.max(height) <= MAX_SIDE {
        return Ok(Prepared { bytes, mime });
    }
    let decoded = image::load_from_memory_with_format(&bytes, format).map_err(|_| undecodable())?;
    let scaled = decoded.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
    let mut out = Vec::with_capacity(256 * 1024);
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    scaled
        .to_rgb8()
        .write_with_encoder(encoder)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("re-encoding the photo: {e}")))?;
    Ok(Prepared {
        bytes: out,
        mime: "image/jpeg",
    })
}

fn undecodable() -> ApiError {
    ApiError::Validation(vec![crate::error::ValidationIssue::new(
        vec!["body".into(), "image".into()],
        "image_invalid",
        "The image could not be read",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn large_photos_are_scaled_down_and_small_ones_kept() {
        let small = png(300, 200);
        let kept = prepare(small.clone(), ImageFormat::Png).unwrap();
        assert_eq!((kept.bytes, kept.mime), (small, "image/png"));
        let scaled = prepare(png(2048, 1024), ImageFormat::Png).unwrap();
        assert_eq!(scaled.mime, "image/jpeg");
        let img = image::load_from_memory(&scaled.bytes).unwrap();
        assert_eq!((img.width(), img.height()), (1024, 512));
        assert!(prepare(b"\x89PNG\r\n\x1a\nnot really".to_vec(), ImageFormat::Png).is_err());
    }
}
