//! Types parsed once at the boundary and trusted inside.

pub mod bounded;
pub mod correction;
pub mod curation;
pub mod cursor;
pub mod identify;
pub mod image_kind;
pub mod machine;
pub mod machine_id;
pub mod pagination;

/// Longest URL a client may store (thumbnails, avatars): counted in characters, as the
/// OpenAPI document's `maxLength` counts.
pub const MAX_URL_CHARS: usize = 2048;

/// Whether `u` is an http(s) URL of at most [`MAX_URL_CHARS`] characters.
pub fn is_web_url(u: &str) -> bool {
    u.chars().count() <= MAX_URL_CHARS
        && url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_are_http_or_https_and_bounded_in_characters() {
        assert!(is_web_url("https://cdn.example.com/a.png"));
        assert!(is_web_url("http://example.com/"));
        assert!(!is_web_url("ftp://example.com/a.png"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("not a url"));
        // 2048 characters of which many take two bytes in UTF-8: allowed.
        let base = "https://example.com/";
        let long = format!("{base}{}", "é".repeat(MAX_URL_CHARS - base.len()));
        assert_eq!(long.chars().count(), MAX_URL_CHARS);
        assert!(long.len() > MAX_URL_CHARS);
        assert!(is_web_url(&long));
        assert!(!is_web_url(&format!("{long}x")));
    }
}
