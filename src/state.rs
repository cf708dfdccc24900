//! What every handler shares: built once at start-up, cloned cheaply per worker.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use uuid::Uuid;

use crate::auth::Verifier;
use crate::auth::admin::AuthAdmin;
use crate::catalog_cache::{CatalogCache, PerVersion};
use crate::config::Settings;
use crate::db::Db;
use crate::db::machines::MachineIndex;
use crate::domain::cursor::CursorKey;
use crate::error::{ApiError, ApiResult};
use crate::identification::Identification;
use crate::storage::Storage;

pub struct AppState {
    pub settings: Settings,
    /// Supabase Auth's admin API, when `SUPABASE_SERVICE_ROLE_KEY` is set.
    pub auth_admin: Option<AuthAdmin>,
    pub db: Db,
    /// `None` when `STORAGE_S3_ENDPOINT` is not set (media routes answer 503).
    pub storage: Option<Storage>,
    /// `None` when no way to verify tokens is configured (authenticated routes answer 503).
    pub auth: Option<Arc<Verifier>>,
    /// Users whose profile row is known to exist (skips a query per request).
    pub known_users: Cache<Uuid, ()>,
    /// Rendered catalog responses and the catalog version they belong to.
    pub catalog: CatalogCache,
    /// The Fireworks client (none without `FIREWORKS_API_KEY`: answers are mocked),
    /// callers' recent answers, the catalog's prompts.
    pub identification: Identification,
    machines: PerVersion<MachineIndex>,
    /// Signs sync cursors; read from Postgres on first use (shared by every instance).
    cursor_key: tokio::sync::OnceCell<CursorKey>,
    /// Turns to hold a photo in memory (`UPLOADS_IN_MEMORY`); see [`AppState::upload_slot`].
    upload_slots: tokio::sync::Semaphore,
}

/// How long a photo upload waits for its turn before a 503.
const UPLOAD_WAIT: Duration = Duration::from_secs(10);

impl AppState {
    pub fn new(
        settings: Settings,
        db: Db,
        auth: Option<Arc<Verifier>>,
        http: reqwest::Client,
    ) -> Self {
        let identification = Identification::new(&settings.fireworks, http.clone());
        let settings_uploads = settings.uploads_in_memory;
        let auth_admin = AuthAdmin::new(
            http.clone(),
            settings.supabase.url.as_ref(),
            settings.supabase.service_role_key.clone(),
        );
        AppState {
            auth_admin,
            identification,
            machines: PerVersion::default(),
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
            upload_slots: tokio::sync::Semaphore::new(settings_uploads),
        }
    }

    /// A turn to read a photo into memory. At most `UPLOADS_IN_MEMORY` bodies of up to
    /// 10 MB are held at once (the others wait unread, their bytes in the socket, for up
    /// to 10 s, then get a 503), so memory stays bounded whatever the concurrency.
    pub async fn upload_slot(&self) -> ApiResult<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(UPLOAD_WAIT, self.upload_slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Unavailable(
                "Too many photos are arriving right now; try again in a moment".into(),
            )),
        }
    }

    pub fn storage(&self) -> ApiResult<&Storage> {
        self.storage
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("Storage is not configured".into()))
    }

    /// Every machine (active or not) by id, as of a catalog version at most
    /// `CATALOG_MAX_STALENESS_MS` old: favorites and history embed their machines from
    /// here rather than joining and decoding the same catalog rows on every request.
    pub async fn machines(&self) -> ApiResult<Arc<MachineIndex>> {
        let version = self.catalog.version(&self.db).await?;
        self.machines
            .get(version, async || {
                Ok(crate::db::machines::index(&self.db).await?)
            })
            .await
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
