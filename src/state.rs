//! What every handler shares: the configuration and a handle to each thing the service
//! talks to or keeps, built once at start-up. Each handle's module owns what it holds
//! (the catalog's versions and pages, identification's client and recent answers, the
//! photos in memory); this file only puts them together.

use std::time::Duration;

use crate::auth::admin::AuthAdmin;
use crate::catalog::Catalog;
use crate::config::Settings;
use crate::db::Db;
use crate::db::sync::CursorKeys;
use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::UploadSlots;
use crate::identification::Identifier;
use crate::storage::Storage;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    /// `None` when `STORAGE_S3_ENDPOINT` is not set or `FEATURES_OFF` names media
    /// (media routes answer 501).
    pub storage: Option<Storage>,
    /// Supabase Auth's admin API, when `SUPABASE_SERVICE_ROLE_KEY` is set; on the local
    /// stack (`LOCAL_AUTH_KEY_FILE`), its own sign-ins.
    pub auth_admin: Option<AuthAdmin>,
    pub catalog: Catalog,
    pub identification: Identifier,
    /// Turns to hold a photo in memory (`UPLOADS_IN_MEMORY`).
    pub uploads: UploadSlots,
    /// Signs sync cursors.
    pub cursor_keys: CursorKeys,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, http: reqwest::Client) -> Self {
        AppState {
            auth_admin: AuthAdmin::new(
                http.clone(),
                settings.supabase.url.as_ref(),
                settings.supabase.service_role_key.clone(),
            )
            .or_else(|| {
                // The local stack is its own Supabase Auth (development only).
                let local = settings.supabase.local_auth_key_file.is_some();
                local.then(|| AuthAdmin::Local(db.clone()))
            }),
            identification: Identifier::new(
                &settings.fireworks,
                settings.identification_mode(),
                http,
            ),
            catalog: Catalog::new(
                db.clone(),
                Duration::from_millis(settings.catalog_max_staleness_ms),
            ),
            storage: settings
                .storage
                .as_ref()
                .filter(|_| !settings.features_off.media)
                .map(Storage::new),
            uploads: UploadSlots::new(settings.uploads_in_memory),
            cursor_keys: CursorKeys::default(),
            settings,
            db,
        }
    }

    pub fn storage(&self) -> ApiResult<&Storage> {
        self.storage.as_ref().ok_or_else(|| {
            ApiError::FeatureOff(if self.settings.features_off.media {
                "Media is turned off on this server (FEATURES_OFF=media)".into()
            } else {
                "Media needs storage, which is not configured: set STORAGE_S3_ENDPOINT, \
                 STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY (scripts/dev \
                 runs a local S3 store)"
                    .into()
            })
        })
    }
}
