//! What must not leave the process: token-like query values in logged URLs and in
//! Sentry events, and credential headers.

use std::borrow::Cow;

/// Query parameters whose values are credentials: tokens, keys, and presigned URLs'
/// signatures (S3's `X-Amz-*`, Supabase's `token`). Compared case-insensitively.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "apikey",
    "api_key",
    "key",
    "code",
    "password",
    "secret",
    "signature",
    "sig",
    "jwt",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// Headers that carry credentials.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "apikey",
    "x-api-key",
    "x-metrics-token",
];

pub const REDACTED: &str = "[redacted]";

pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// A query string with secret values replaced by `[redacted]`; names and other values
/// are kept as sent.
pub fn query(query: &str) -> Cow<'_, str> {
    if !query
        .split('&')
        .any(|pair| is_secret_param(pair.split('=').next().unwrap_or_default()))
    {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

/// Path and query of a request URI, with secret query values redacted.
pub fn path_and_query(uri: &actix_web::http::Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}?{}", uri.path(), query(q)),
        None => uri.path().to_owned(),
    }
}

/// A full URL (as Sentry records it) with secret query values redacted.
pub fn url(url: &str) -> Cow<'_, str> {
    match url.split_once('?') {
        Some((base, q)) => match query(q) {
            Cow::Borrowed(_) => Cow::Borrowed(url),
            Cow::Owned(clean) => Cow::Owned(format!("{base}?{clean}")),
        },
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_redacted_and_the_rest_kept() {
        assert_eq!(query("page=2&tags=legs"), "page=2&tags=legs");
        assert_eq!(
            query("X-Amz-Algorithm=AWS4&X-Amz-Signature=abc123&x-amz-credential=AK%2F1&page=1"),
            "X-Amz-Algorithm=AWS4&X-Amz-Signature=[redacted]&x-amz-credential=[redacted]&page=1"
        );
        assert_eq!(query("token=eyJ.x.y"), "token=[redacted]");
        assert_eq!(
            url("https://h/p?access_token=s3cr3t&q=1"),
            "https://h/p?access_token=[redacted]&q=1"
        );
        assert_eq!(url("https://h/p"), "https://h/p");
        let uri: actix_web::http::Uri = "/api/v1/media?sig=zzz".parse().unwrap();
        assert_eq!(path_and_query(&uri), "/api/v1/media?sig=[redacted]");
        assert!(is_secret_header("Authorization") && is_secret_header("COOKIE"));
        assert!(!is_secret_header("user-agent"));
    }
}
