//! Media through signed storage URLs. Large files go straight from the app to storage
//! with a presigned PUT; the service only signs, checks and records.

use std::collections::BTreeMap;
use std::future::{Ready, ready};

use actix_multipart::Multipart;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::shared::Deleted;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::db;
use crate::db::media::{MediaAsset, NewAsset};
use crate::db::rls::UserTx;
use crate::domain::image_kind::ImageKind;
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationIssue};
use crate::extract::multipart::{declared_length, read_field};
use crate::extract::{ApiJson, QueryParams};
use crate::state::AppState;
use crate::storage::{self, BucketRules, USER_UPLOADS};

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

#[derive(Serialize, ToSchema)]
pub struct MediaUrl {
    pub url: String,
    /// When a signed URL stops working; absent for public objects.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MediaWithUrl {
    #[serde(flatten)]
    pub asset: MediaAsset,
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct MediaPage {
    pub assets: Vec<MediaAsset>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// The contract's answer to a multipart upload.
#[derive(Serialize, ToSchema)]
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

fn parse_asset_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::Validation(vec![ValidationIssue::new(
            vec!["path".into(), "asset_id".into()],
            "uuid_parsing",
            "Input should be a valid UUID",
        )])
    })
}

fn not_found() -> ApiError {
    ApiError::NotFound("Media not found".into())
}

/// A usable URL for an asset: plain for public buckets, signed otherwise.
async fn url_for(
    state: &AppState,
    user: Option<Uuid>,
    asset: &MediaAsset,
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

/// Ask for a URL to upload a photo directly to storage.
#[utoipa::path(post, path = "/api/v1/media/upload-url", tag = "media",
    security(("bearer_auth" = [])),
    request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn upload_url(
    state: web::Data<AppState>,
    user: AuthUser,
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
    let signed = storage
        .presign_put(USER_UPLOADS.name, &path, &body.content_type)
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
    user: AuthUser,
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
        let object = storage
            .head(USER_UPLOADS.name, &key)
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(
                    "Nothing was uploaded yet: PUT the file to upload_url first".into(),
                )
            })?;
        let type_matches = object.content_type.as_deref() == Some(asset.content_type.as_str());
        if Some(object.size) != asset.size_bytes || !type_matches {
            storage.delete(USER_UPLOADS.name, &key).await?;
            return Err(ApiError::Validation(vec![ValidationIssue::new(
                vec!["body".into()],
                "upload_mismatch",
                "The uploaded file does not have the declared size and type; it was removed",
            )]));
        }
        UserTx::run(&state.db, &user.claims_json, async |tx| {
            db::media::mark_ready(tx, id, object.size).await
        })
        .await?
        .ok_or_else(not_found)?
    };
    let (url, expires_at) = url_for(&state, Some(user.id), &asset).await?;
    Ok(web::Json(MediaWithUrl {
        asset,
        url,
        expires_at,
    }))
}

/// A URL to read an asset: signed and short-lived for private buckets.
#[utoipa::path(get, path = "/api/v1/media/{asset_id}/url", tag = "media",
    security(("bearer_auth" = [])),
    params(("asset_id" = Uuid, Path)),
    responses((status = 200, body = MediaUrl), (status = 404, body = ErrorBody))
)]
pub async fn media_url(
    state: web::Data<AppState>,
    user: AuthUser,
    asset_id: web::Path<String>,
) -> ApiResult<web::Json<MediaUrl>> {
    let id = parse_asset_id(&asset_id)?;
    let mut tx = UserTx::begin(&state.db, &user.claims_json).await?;
    let asset = db::media::get(&mut tx, id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    if asset.status != "ready" {
        return Err(not_found());
    }
    let (url, expires_at) = url_for(&state, Some(user.id), &asset).await?;
    Ok(web::Json(MediaUrl { url, expires_at }))
}

/// Query parameters of `GET /api/v1/media`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MediaQuery {
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    page_size: Option<u32>,
}

pub struct MediaPageRequest(PageRequest);

impl FromRequest for MediaPageRequest {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut q = QueryParams::parse(req.query_string());
        let page = PageRequest::from_query(&mut q);
        ready(q.finish(MediaPageRequest(page)))
    }
}

/// The caller's assets, newest first.
#[utoipa::path(get, path = "/api/v1/media", tag = "media",
    security(("bearer_auth" = [])),
    params(MediaQuery),
    responses((status = 200, body = MediaPage))
)]
pub async fn list_media(
    state: web::Data<AppState>,
    user: AuthUser,
    page: MediaPageRequest,
) -> ApiResult<web::Json<MediaPage>> {
    let (assets, total) = UserTx::run(&state.db, &user.claims_json, async |tx| {
        db::media::list_own(tx, page.0).await
    })
    .await?;
    Ok(web::Json(MediaPage {
        assets,
        total,
        page: page.0.page(),
        page_size: page.0.page_size(),
    }))
}

/// A machine's images, diagrams and tutorials, with usable URLs (tutorials only for
/// signed-in callers).
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}/media", tag = "media",
    params(("machine_id" = String, Path)),
    responses((status = 200, body = Vec<MediaWithUrl>), (status = 404, body = ErrorBody))
)]
pub async fn machine_media(
    state: web::Data<AppState>,
    user: MaybeAuthUser,
    machine_id: web::Path<MachineId>,
) -> ApiResult<web::Json<Vec<MediaWithUrl>>> {
    if db::machines::get(&state.db, &machine_id).await?.is_none() {
        return Err(ApiError::not_found("Machine"));
    }
    let mut out = Vec::new();
    for asset in db::media::for_machine(&state.db, &machine_id).await? {
        let public = storage::bucket(&asset.bucket).is_some_and(|b| b.public);
        if !public && user.0.is_none() {
            continue;
        }
        let (url, expires_at) = url_for(&state, user.0.as_ref().map(|u| u.id), &asset).await?;
        out.push(MediaWithUrl {
            asset,
            url,
            expires_at,
        });
    }
    Ok(web::Json(out))
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
    user: AuthUser,
    req: HttpRequest,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let storage = state.storage()?;
    let _slot = state.uploads.turn().await?;
    let data = read_field(
        form,
        "file",
        USER_UPLOADS.max_bytes as usize,
        declared_length(&req),
    )
    .await?;
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
    user: AuthUser,
    file_path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let path = file_path.into_inner();
    let own_prefix = format!("{}/", user.id);
    // No dot or empty segments, and no backslashes or control characters, which some
    // stores and file systems read as separators (the service's own paths never hold any).
    let inside = path.starts_with(&own_prefix)
        && path.len() > own_prefix.len()
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && !path
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty());
    if !inside {
        return Err(ApiError::Forbidden(
            "You can only delete your own files".into(),
        ));
    }
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
