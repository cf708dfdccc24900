//! Media through signed storage URLs. Large files go straight from the app to storage
//! with a presigned PUT ([`presigned`]); small ones may come through the service
//! ([`direct`]); every asset is read through a URL made for the caller ([`read`]).

pub mod direct;
pub mod presigned;
pub mod read;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::media::AssetRow;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ValidationIssue};
use crate::state::AppState;
use crate::storage::{self, USER_UPLOADS};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaAsset {
    pub id: Uuid,
    /// Empty for system assets (catalog images, tutorials).
    pub owner_id: Option<Uuid>,
    #[schema(value_type = Option<String>)]
    pub machine_id: Option<MachineId>,
    pub bucket: String,
    pub path: String,
    /// image, thumbnail, video, diagram or user_photo.
    pub asset_type: String,
    pub content_type: String,
    pub size_bytes: Option<i64>,
    /// `pending` until the upload is confirmed, then `ready`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AssetRow> for MediaAsset {
    fn from(row: AssetRow) -> Self {
        MediaAsset {
            id: row.id,
            owner_id: row.owner_id,
            machine_id: row.machine_id,
            bucket: row.bucket,
            path: row.path,
            asset_type: row.asset_type,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            status: row.status,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaUrl {
    pub url: String,
    /// When a signed URL stops working; absent for public objects.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaWithUrl {
    #[serde(flatten)]
    pub asset: MediaAsset,
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MediaPage {
    pub assets: Vec<MediaAsset>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

pub(super) fn parse_asset_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::Validation(vec![ValidationIssue::new(
            vec!["path".into(), "asset_id".into()],
            "uuid_parsing",
            "Input should be a valid UUID",
        )])
    })
}

pub(super) fn not_found() -> ApiError {
    ApiError::NotFound("Media not found".into())
}

/// A usable URL for an asset: plain for public buckets, signed otherwise.
pub(super) async fn url_for(
    state: &AppState,
    user: Option<Uuid>,
    asset: &AssetRow,
) -> ApiResult<(String, Option<DateTime<Utc>>)> {
    let storage = state.storage()?;
    let (bucket, key) = match (asset.owner_id, user) {
        // A user's own upload: the key is derived, never read from the record.
        (Some(owner), Some(user)) if owner == user && asset.bucket == USER_UPLOADS.name => {
            let key = storage::own_upload_key(user, asset.id, &asset.content_type, &asset.path)
                .ok_or_else(not_found)?;
            (USER_UPLOADS.name, key)
        }
        // Catalog images and tutorials: records only the service writes.
        (None, _) if asset.bucket != USER_UPLOADS.name => {
            (asset.bucket.as_str(), asset.path.clone())
        }
        _ => return Err(not_found()),
    };
    if storage::bucket(bucket).is_some_and(|b| b.public) {
        Ok((storage.public_url(bucket, &key), None))
    } else {
        let signed = storage.presign_get(bucket, &key).await?;
        Ok((signed.url, Some(signed.expires_at)))
    }
}

/// A signed URL for a photo of the caller's that the FastAPI backend stored under `key`
/// (the client's own file name or extension: `media_legacy_keys`, which only the cutover
/// writes). Only inside the caller's own folder, only for their own record.
pub(super) async fn legacy_url_for(
    state: &AppState,
    user: Uuid,
    asset: &AssetRow,
    key: &str,
) -> ApiResult<(String, Option<DateTime<Utc>>)> {
    let key = (asset.owner_id == Some(user) && asset.bucket == USER_UPLOADS.name)
        .then(|| storage::own_folder_key(user, key))
        .flatten()
        .ok_or_else(not_found)?;
    let signed = state
        .storage()?
        .presign_get(USER_UPLOADS.name, &key)
        .await?;
    Ok((signed.url, Some(signed.expires_at)))
}
