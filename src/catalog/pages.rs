//! Rendered catalog responses kept in process (moka), keyed by catalog version and
//! request, with `ETag`/`If-None-Match` and `Cache-Control`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use moka::future::Cache;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiResult;
use crate::telemetry::metrics;

/// How long browsers and the app may reuse a catalog response before revalidating it.
pub const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=60";

/// The most memory rendered pages may take on one instance.
pub const PAGES_MAX_BYTES: u64 = 32 * 1024 * 1024;

pub struct Rendered {
    body: Bytes,
    etag: HeaderValue,
}

pub struct Pages {
    cache: Cache<String, Arc<Rendered>>,
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            // Bounded by bytes, not entries: a full catalog page is about 100 KB, and
            // every distinct query string (any search text) is a page of its own.
            cache: Cache::builder()
                .weigher(|key: &String, page: &Arc<Rendered>| {
                    u32::try_from(key.len() + page.body.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(PAGES_MAX_BYTES)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }
}

impl Pages {
    /// Answers from the cache, or renders, caches and answers; 304 when the client's
    /// `If-None-Match` already names this response.
    pub async fn respond<T: Serialize>(
        &self,
        version: i64,
        req: &HttpRequest,
        key: &str,
        render: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<HttpResponse> {
        let cache_key = format!("{version}|{key}");
        let cached = self.cache.get(&cache_key).await;
        metrics::cache_lookup(metrics::Cache::Catalog, cached.is_some());
        let rendered = match cached {
            Some(hit) => hit,
            None => {
                let value = render().await?;
                let body = Bytes::from(serde_json::to_vec(&value).map_err(anyhow::Error::from)?);
                let digest = Sha256::digest(cache_key.as_bytes());
                let etag = format!(
                    "\"c{version}-{:x}\"",
                    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
                );
                let rendered = Arc::new(Rendered {
                    body,
                    etag: HeaderValue::from_str(&etag).expect("ASCII etag"),
                });
                self.cache.insert(cache_key, rendered.clone()).await;
                rendered
            }
        };
        let mut response = if not_modified(req, &rendered.etag) {
            HttpResponse::NotModified().finish()
        } else {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(rendered.body.clone())
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, rendered.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        );
        Ok(response)
    }
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks for GET).
fn not_modified(req: &HttpRequest, etag: &HeaderValue) -> bool {
    let Some(value) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == ours
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rendered_pages_are_bounded_by_bytes() {
        let pages = Pages::default();
        let page = Bytes::from(vec![b' '; 100 * 1024]);
        for i in 0..1_000 {
            let rendered = Arc::new(Rendered {
                body: page.clone(),
                etag: HeaderValue::from_static("\"x\""),
            });
            pages.cache.insert(format!("1|search={i}"), rendered).await;
        }
        pages.cache.run_pending_tasks().await;
        // 1,000 pages of 100 KiB would be 100 MiB.
        assert!(pages.cache.weighted_size() <= PAGES_MAX_BYTES);
        assert!(
            pages.cache.entry_count() < 400,
            "{}",
            pages.cache.entry_count()
        );
    }
}
