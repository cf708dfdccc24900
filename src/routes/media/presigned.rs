//! Uploads straight to storage: a presigned PUT, then a check of what arrived.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MediaWithUrl, not_found, parse_asset_id, url_for};
use crate::db::media::{AssetRow, NewAsset};
use crate::db::rls::UserTx;
use crate::domain::image_kind::ImageKind;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationIssue};
use crate::extract::{ApiJson, Writer};
use crate::state::AppState;
use crate::storage::{BucketRules, Storage, USER_UPLOADS};
use crate::{db, storage};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// image/png, image/jpeg or image/webp.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Exact size of the file to upload, at most 10 MB.
    pub size_bytes: i64,
    /// `user_photo`.
    #[schema(example = "user_photo")]
    pub asset_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct UploadTicket {
    pub asset_id: Uuid,
    /// PUT the file's bytes here, with `headers`, before `expires_at`.
    pub upload_url: String,
    #[schema(example = "PUT")]
    pub method: &'static str,
    pub headers: BTreeMap<String, String>,
    pub bucket: String,
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

fn body_issue(field: &str, kind: &str, msg: String) -> ValidationIssue {
    ValidationIssue::new(vec!["body".into(), field.into()], kind, msg)
}

/// Checks a type and size against a bucket's rules: a 422 before any URL exists.
fn check_upload(rules: &BucketRules, content_type: &str, size: i64) -> ApiResult<()> {
    let mut issues = Vec::new();
    if !rules.content_types.contains(&content_type) {
        issues.push(body_issue(
            "content_type",
            "enum",
            format!("Input should be one of {}", rules.content_types.join(", ")),
        ));
    }
    if size < 1 || size as u64 > rules.max_bytes {
        issues.push(body_issue(
            "size_bytes",
            "less_than_equal",
            format!("Size must be 1 to {} bytes", rules.max_bytes),
        ));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(issues))
    }
}

/// Ask for a URL to upload a photo directly to storage.
#[utoipa::path(post, path = "/api/v1/media/upload-url", tag = "media",
    security(("bearer_auth" = [])),
    request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn upload_url(
    state: web::Data<AppState>,
    user: Writer,
    body: ApiJson<UploadRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.asset_type != "user_photo" {
        return Err(ApiError::Validation(vec![body_issue(
            "asset_type",
            "enum",
            "Input should be 'user_photo'".into(),
        )]));
    }
    check_upload(&USER_UPLOADS, &body.content_type, body.size_bytes)?;
    let storage = state.storage()?;
    let id = Uuid::new_v4();
    let path = format!(
        "{}/{id}.{}",
        user.id,
        storage::extension(&body.content_type)
    );
    // The URL writes a staging key, never the asset's own (see `storage::staging_key`).
    let staging = storage::staging_key(user.id, id, &body.content_type);
    let signed = storage
        .presign_put(USER_UPLOADS.name, &staging, &body.content_type)
        .await?;
    let mut tx = UserTx::begin(&state.db, &user.claims_json).await?;
    db::media::insert(
        &mut tx,
        &NewAsset {
            id,
            bucket: USER_UPLOADS.name,
            path: &path,
            asset_type: &body.asset_type,
            content_type: &body.content_type,
            size_bytes: body.size_bytes,
            ready: false,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(UploadTicket {
        asset_id: id,
        upload_url: signed.url,
        method: "PUT",
        headers: signed.headers.into_iter().collect(),
        bucket: USER_UPLOADS.name.into(),
        path,
        expires_at: signed.expires_at,
    }))
}

/// Moves what the upload URL received to the asset's own key, where no URL can replace
/// it, and checks it there: the declared size, and bytes that are an image of the
/// declared type (never the type the uploader labelled it with). What does not match is
/// removed (422); nothing uploaded yet is a 409. Returns the size.
async fn checked_upload(
    storage: &Storage,
    user: Uuid,
    asset: &AssetRow,
    key: &str,
) -> ApiResult<i64> {
    let bucket = USER_UPLOADS.name;
    let staging = storage::staging_key(user, asset.id, &asset.content_type);
    if storage.head(bucket, &staging).await?.is_some() {
        storage
            .copy(bucket, &staging, key, &asset.content_type)
            .await?;
        storage.delete(bucket, &staging).await?;
    }
    // Without a staging object: nothing was uploaded, or an upload URL issued before
    // staging existed wrote the asset's own key.
    let object = storage.head(bucket, key).await?.ok_or_else(|| {
        ApiError::Conflict("Nothing was uploaded yet: PUT the file to upload_url first".into())
    })?;
    let head = storage.first_bytes(bucket, key, 16).await?;
    let sniffed = ImageKind::sniff(&head).map(ImageKind::mime);
    if Some(object.size) != asset.size_bytes || sniffed != Some(asset.content_type.as_str()) {
        storage.delete(bucket, key).await?;
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into()],
            "upload_mismatch",
            "The uploaded file is not an image of the declared size and type; it was removed",
        )]));
    }
    Ok(object.size)
}

/// Confirm an upload: the object must exist with the declared size and type.
#[utoipa::path(post, path = "/api/v1/media/{asset_id}/complete", tag = "media",
    security(("bearer_auth" = [])),
    params(("asset_id" = Uuid, Path)),
    responses(
        (status = 200, body = MediaWithUrl),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Nothing was uploaded yet"),
        (status = 422, body = ErrorBody, description = "The upload does not match what was declared"),
    )
)]
pub async fn complete_upload(
    state: web::Data<AppState>,
    user: Writer,
    asset_id: web::Path<String>,
) -> ApiResult<web::Json<MediaWithUrl>> {
    let id = parse_asset_id(&asset_id)?;
    let storage = state.storage()?;
    // No transaction is held open across storage calls: they may take seconds, and
    // Postgres ends a transaction left idle longer than that (see `UserTx::begin`).
    let asset = UserTx::run(&state.db, &user.claims_json, async |tx| {
        db::media::get(tx, id).await
    })
    .await?
    .filter(|a| a.owner_id == Some(user.id) && a.bucket == USER_UPLOADS.name)
    .ok_or_else(not_found)?;
    // The only object this call may look at or remove: the caller's own upload.
    let key = storage::own_upload_key(user.id, id, &asset.content_type, &asset.path)
        .ok_or_else(not_found)?;
    let asset = if asset.status == "ready" {
        asset
    } else {
        let size = checked_upload(storage, user.id, &asset, &key).await?;
        UserTx::run(&state.db, &user.claims_json, async |tx| {
            db::media::mark_ready(tx, id, size).await
        })
        .await?
        .ok_or_else(not_found)?
    };
    let (url, expires_at) = url_for(&state, Some(user.id), &asset).await?;
    Ok(web::Json(MediaWithUrl {
        asset: asset.into(),
        url,
        expires_at,
    }))
}
