//! Reading assets: one asset's URL, the caller's assets, a machine's media.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use utoipa::IntoParams;

use super::{
    MediaAsset, MediaPage, MediaUrl, MediaWithUrl, legacy_url_for, not_found, parse_asset_id,
    url_for,
};
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::db::rls::UserTx;
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::state::AppState;
use crate::{db, storage};

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
    let legacy_key = db::media::legacy_key(&mut tx, id).await?;
    tx.commit().await?;
    if asset.status != "ready" {
        return Err(not_found());
    }
    let (url, expires_at) = match legacy_key {
        Some(key) => legacy_url_for(&state, user.id, &asset, &key).await?,
        None => url_for(&state, Some(user.id), &asset).await?,
    };
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
        let page = q.page();
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
        assets: assets.into_iter().map(MediaAsset::from).collect(),
        total,
        page: page.0.page(),
        page_size: page.0.page_size(),
    }))
}

/// A machine's images, diagrams and tutorials, with usable URLs (tutorials only for
/// signed-in callers).
#[utoipa::path(get, path = "/api/v1/machines/{machine_id}/media", tag = "media",
    security((), ("bearer_auth" = [])),
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
            asset: asset.into(),
            url,
            expires_at,
        });
    }
    Ok(web::Json(out))
}
