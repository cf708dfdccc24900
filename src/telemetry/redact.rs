//! What must not leave the process: token-like query values in logged URLs and in
//! Sentry events, and credential headers.

use std::borrow::Cow;

/// Query parameters whose values are credentials: tokens, keys, and presigned URLs'
/// signatures (S3's `X-Amz-*`, Supabase's `token`). A name is compared after it is
/// percent-decoded, lower-cased and stripped of everything but letters and digits, so
/// `access%5Ftoken`, `Access-Token` and `access token` are all `access_token`.
const SECRET_PARAMS: &[&str] = &[
    "authorization",
    "proxy_authorization",
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

fn is_secret_param(raw_name: &str) -> bool {
    // `form_urlencoded` decodes `%xx` and `+` as a browser would have encoded them.
    let decoded: String = url::form_urlencoded::parse(raw_name.as_bytes())
        .map(|(name, value)| format!("{name}{value}"))
        .collect();
    let name = letters_and_digits(&decoded);
    SECRET_PARAMS.iter().any(|p| letters_and_digits(p) == name)
}

fn letters_and_digits(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
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
        assert_eq!(
            query(
                "access%5Ftoken=a&%61pi_key=b&Authorization=c&x%2Damz%2Dsignature=d&refresh+token=e"
            ),
            "access%5Ftoken=[redacted]&%61pi_key=[redacted]&Authorization=[redacted]&x%2Damz%2Dsignature=[redacted]&refresh+token=[redacted]"
        );
        assert_eq!(query("tokens_left=3&page=1"), "tokens_left=3&page=1");
        assert!(is_secret_header("Authorization") && is_secret_header("COOKIE"));
        assert!(!is_secret_header("user-agent"));
    }
}
