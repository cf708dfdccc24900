//! The catalog's HTTP caching: rendered responses kept in process (moka), keyed by the
//! catalog version, with `ETag`/`If-None-Match` and `Cache-Control`.
//!
//! Freshness: every admin change bumps `catalog_state.version` in Postgres. Each
//! instance re-reads that version at most every `CATALOG_MAX_STALENESS_MS` (1000 ms), and
//! cached pages belong to one version, so no instance serves a page more than that bound
//! after a change was committed on any instance. While Postgres is unreachable, the last
//! version read keeps serving (the catalog cannot change then either).

use crate::telemetry::metrics;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use moka::future::Cache;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::error::ApiResult;

/// How long browsers and the app may reuse a catalog response before revalidating it.
pub const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=60";

/// The most memory rendered pages may take on one instance.
pub const PAGES_MAX_BYTES: u64 = 32 * 1024 * 1024;

pub struct Rendered {
    body: Bytes,
    etag: HeaderValue,
}

pub struct CatalogCache {
    max_staleness: Duration,
    started: Instant,
    /// The last catalog version read, and when (ms since `started`; 0 = never).
    version: AtomicI64,
    checked_at_ms: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
    pages: Cache<String, Arc<Rendered>>,
}

impl CatalogCache {
    pub fn new(max_staleness: Duration) -> Self {
        CatalogCache {
            max_staleness,
            started: Instant::now(),
            version: AtomicI64::new(-1),
            checked_at_ms: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
            // Bounded by bytes, not entries: a full catalog page is about 100 KB, and
            // every distinct query string (any search text) is a page of its own.
            pages: Cache::builder()
                .weigher(|key: &String, page: &Arc<Rendered>| {
                    u32::try_from(key.len() + page.body.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(PAGES_MAX_BYTES)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn fresh_version(&self) -> Option<i64> {
        let checked = self.checked_at_ms.load(Ordering::Acquire);
        (checked != 0 && self.now_ms() - checked < self.max_staleness.as_millis() as u64)
            .then(|| self.version.load(Ordering::Acquire))
    }

    /// The catalog version, read from Postgres at most once per staleness bound.
    pub async fn version(&self, db: &Db) -> ApiResult<i64> {
        if let Some(version) = self.fresh_version() {
            return Ok(version);
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(version) = self.fresh_version() {
            return Ok(version);
        }
        match crate::db::machines::catalog_version(db).await {
            Ok(version) => {
                self.version.store(version, Ordering::Release);
                self.checked_at_ms.store(self.now_ms(), Ordering::Release);
                Ok(version)
            }
            Err(e) => match self.version.load(Ordering::Acquire) {
                -1 => Err(e.into()),
                last => {
                    tracing::warn!(error = %e, "catalog version unavailable; serving the last one read");
                    Ok(last)
                }
            },
        }
    }

    /// Makes the next request re-read the version (after a change made here).
    pub fn invalidate(&self) {
        self.checked_at_ms.store(0, Ordering::Release);
    }

    /// Answers from the cache, or renders, caches and answers; 304 when the client's
    /// `If-None-Match` already names this response.
    pub async fn respond<T: Serialize>(
        &self,
        db: &Db,
        req: &HttpRequest,
        key: &str,
        render: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<HttpResponse> {
        let version = self.version(db).await?;
        let cache_key = format!("{version}|{key}");
        let cached = self.pages.get(&cache_key).await;
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
                self.pages.insert(cache_key, rendered.clone()).await;
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

/// A value derived from one catalog version (the vision prompt, the machines by id),
/// rebuilt when the version changes, once, by whichever request asks first.
pub struct PerVersion<T> {
    current: std::sync::RwLock<Option<(i64, Arc<T>)>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl<T> Default for PerVersion<T> {
    fn default() -> Self {
        PerVersion {
            current: std::sync::RwLock::new(None),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> PerVersion<T> {
    fn peek(&self, version: i64) -> Option<Arc<T>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|(built_for, _)| *built_for == version)
            .map(|(_, value)| value.clone())
    }

    /// The value for `version`, built with `build` when there is none yet.
    pub async fn get(
        &self,
        version: i64,
        build: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<Arc<T>> {
        if let Some(value) = self.peek(version) {
            return Ok(value);
        }
        let _single_flight = self.rebuild.lock().await;
        if let Some(value) = self.peek(version) {
            return Ok(value);
        }
        let value = Arc::new(build().await?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((version, value.clone()));
        Ok(value)
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
        let cache = CatalogCache::new(Duration::from_secs(1));
        let page = Bytes::from(vec![b' '; 100 * 1024]);
        for i in 0..1_000 {
            let rendered = Arc::new(Rendered {
                body: page.clone(),
                etag: HeaderValue::from_static("\"x\""),
            });
            cache.pages.insert(format!("1|search={i}"), rendered).await;
        }
        cache.pages.run_pending_tasks().await;
        // 1,000 pages of 100 KiB would be 100 MiB.
        assert!(cache.pages.weighted_size() <= PAGES_MAX_BYTES);
        assert!(
            cache.pages.entry_count() < 400,
            "{}",
            cache.pages.entry_count()
        );
    }
}
