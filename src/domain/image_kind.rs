//! What an image is, from its first bytes (never from the client's `Content-Type`): the
//! one sniffer behind identification (which takes JPEG and PNG, and names WebP and HEIC
//! when it refuses them) and stored uploads (JPEG, PNG and WebP).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Heic,
}

impl ImageKind {
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else if bytes.len() >= 12
            && &bytes[4..8] == b"ftyp"
            && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
        {
            Some(ImageKind::Heic)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Heic => "image/heic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ImageKind::{self, *};

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(Jpeg)
        );
        assert_eq!(ImageKind::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Png));
        assert_eq!(
            ImageKind::sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 "),
            Some(Webp)
        );
        assert_eq!(ImageKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(Heic));
        assert_eq!(ImageKind::sniff(b"GIF89a"), None);
        assert_eq!(ImageKind::sniff(b"<svg"), None);
        assert_eq!(ImageKind::sniff(b""), None);
        assert_eq!(Webp.mime(), "image/webp");
    }
}
