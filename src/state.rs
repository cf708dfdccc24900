//! What every handler shares: built once at start-up, cloned cheaply per worker.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use uuid::Uuid;

use crate::auth::Verifier;
use crate::catalog_cache::CatalogCache;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::cursor::CursorKey;
use crate::error::{ApiError, ApiResult};
use crate::storage::Storage;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    /// `None` when `STORAGE_S3_ENDPOINT` is not set (media routes answer 503).
    pub storage: Option<Storage>,
    /// `None` when no way to verify tokens is configured (authenticated routes answer 503).
    pub auth: Option<Arc<Verifier>>,
    /// Users whose profile row is known to exist (skips a query per request).
    pub known_users: Cache<Uuid, ()>,
    /// Rendered catalog responses and the catalog version they belong to.
    pub catalog: CatalogCache,
    /// Signs sync cursors; read from Postgres on first use (shared by every instance).
    cursor_key: tokio::sync::OnceCell<CursorKey>,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, auth: Option<Arc<Verifier>>) -> Self {
        AppState {
            catalog: CatalogCache::new(Duration::from_millis(settings.catalog_max_staleness_ms)),
            storage: settings.storage.as_ref().map(Storage::new),
            settings,
            db,
            auth,
            known_users: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            cursor_key: tokio::sync::OnceCell::new(),
        }
    }

    pub fn storage(&self) -> ApiResult<&Storage> {
        self.storage
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("Storage is not configured".into()))
    }

    pub async fn cursor_key(&self) -> ApiResult<&CursorKey> {
        Ok(self
            .cursor_key
            .get_or_try_init(|| async {
                crate::db::sync::cursor_secret(&self.db)
                    .await
                    .map(|secret| CursorKey::new(&secret))
            })
            .await?)
    }
}
