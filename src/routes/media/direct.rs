//! Uploads through the service (multipart, small images) and deletion by path.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::media::NewAsset;
use crate::db::rls::UserTx;
use crate::domain::image_kind::ImageKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    Writer,
    multipart::{declared_length, read_photo},
};
use crate::routes::shared::Deleted;
use crate::state::AppState;
use crate::storage::USER_UPLOADS;
use crate::{db, storage};

/// The contract's answer to a multipart upload.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadedFile {
    pub asset_id: Uuid,
    /// A signed URL to read the file (the bucket is private).
    pub url: String,
    /// Kept for the app: the same signed URL (the original returned a public URL for a
    /// private bucket).
    pub public_url: String,
    pub bucket: String,
    pub path: String,
    pub size: usize,
    pub content_type: String,
    pub expires_at: DateTime<Utc>,
}

/// The contract's upload through the service (small images): multipart field `file`.
/// The size limit is enforced while reading; the type comes from the file's bytes.
#[utoipa::path(post, path = "/api/v1/media/upload", tag = "media",
    security(("bearer_auth" = [])),
    request_body(content_type = "multipart/form-data", description = "field `file`: a PNG, JPEG or WebP image of at most 10 MB"),
    responses(
        (status = 201, body = UploadedFile),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "Not a PNG, JPEG or WebP image"),
        (status = 422, body = ErrorBody, description = "No file field, or an empty file"),
    )
)]
pub async fn upload_file(
    state: web::Data<AppState>,
    user: Writer,
    req: HttpRequest,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let storage = state.storage()?;
    // Held until the photo is stored (a large one holds a turn: `UPLOADS_IN_MEMORY`).
    let held = read_photo(
        form,
        "file",
        USER_UPLOADS.max_bytes as usize,
        declared_length(&req),
        &state.uploads,
        &user.id.to_string(),
    )
    .await?;
    let data = held.bytes.clone();
    let content_type = ImageKind::sniff(&data)
        .filter(|kind| *kind != ImageKind::Heic)
        .map(ImageKind::mime)
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType("The file must be a PNG, JPEG or WebP image".into())
        })?;
    let id = Uuid::new_v4();
    let path = format!("{}/{id}.{}", user.id, storage::extension(content_type));
    let size = data.len();
    storage
        .put(USER_UPLOADS.name, &path, data, content_type)
        .await?;
    let mut tx = UserTx::begin(&state.db, &user.claims_json).await?;
    let recorded = db::media::insert(
        &mut tx,
        &NewAsset {
            id,
            bucket: USER_UPLOADS.name,
            path: &path,
            asset_type: "user_photo",
            content_type,
            size_bytes: size as i64,
            ready: true,
        },
    )
    .await;
    let committed = match recorded {
        Ok(_) => tx.commit().await.map_err(ApiError::from),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = committed {
        // No record, no object: remove what was stored.
        let _ = storage.delete(USER_UPLOADS.name, &path).await;
        return Err(e);
    }
    let signed = storage.presign_get(USER_UPLOADS.name, &path).await?;
    Ok(HttpResponse::Created().json(UploadedFile {
        asset_id: id,
        public_url: signed.url.clone(),
        url: signed.url,
        bucket: USER_UPLOADS.name.into(),
        path,
        size,
        content_type: content_type.into(),
        expires_at: signed.expires_at,
    }))
}

/// Delete one of the caller's files by its path (`{user_id}/...`): the object and its
/// record. Paths outside the caller's folder are 403.
#[utoipa::path(delete, path = "/api/v1/media/delete/{file_path}", tag = "media",
    security(("bearer_auth" = [])),
    params(("file_path" = String, Path, description = "`{user_id}/{file}`")),
    responses((status = 200, body = Deleted, description = "The object is gone; `deleted` counts the records removed with it", example = json!({"deleted": 1})), (status = 403, body = ErrorBody))
)]
pub async fn delete_file(
    state: web::Data<AppState>,
    user: Writer,
    file_path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let Some(path) = storage::own_folder_key(user.id, &file_path) else {
        return Err(ApiError::Forbidden(
            "You can only delete your own files".into(),
        ));
    };
    let storage = state.storage()?;
    // The object goes first: if storage is down, the record stays and the call can be
    // repeated. No transaction is held open across the storage call (see
    // `UserTx::begin`); a repeated call removes a record left behind.
    storage.delete(USER_UPLOADS.name, &path).await?;
    let removed = UserTx::run(&state.db, &user.claims_json, async |tx| {
        Ok::<_, sqlx::Error>(
            match db::media::by_path(tx, USER_UPLOADS.name, &path).await? {
                Some(asset) => u64::from(db::media::delete(tx, asset.id).await?),
                None => 0,
            },
        )
    })
    .await?;
    Ok(Deleted::response(removed))
}
