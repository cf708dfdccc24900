//! Media records (`media_assets`). User calls run in the caller's RLS transaction, which
//! shows their own assets and system assets (no owner). What the API answers is
//! `crate::routes::media::AssetRow`.

use super::query::Statements;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use super::rls::UserTx;
use crate::domain::machine_id::MachineId;
use crate::domain::pagination::PageRequest;

/// A media record: `owner_id` is empty for system assets (catalog images, tutorials),
/// `status` is `pending` until the upload is confirmed, then `ready`.
#[derive(Debug, Clone, FromRow)]
pub struct AssetRow {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub machine_id: Option<MachineId>,
    pub bucket: String,
    pub path: String,
    pub asset_type: String,
    pub content_type: String,
    pub size_bytes: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`AssetRow`], in one place for every query that returns one.
macro_rules! media_columns {
    () => {
        "id, owner_id, machine_id, bucket, path, asset_type, content_type, size_bytes, status, created_at, updated_at"
    };
}

pub struct NewAsset<'a> {
    pub id: Uuid,
    pub bucket: &'a str,
    pub path: &'a str,
    pub asset_type: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub ready: bool,
}

pub async fn insert(tx: &mut UserTx, asset: &NewAsset<'_>) -> Result<AssetRow, sqlx::Error> {
    tx.query_as(
        concat!("insert into public.media_assets (id, owner_id, bucket, path, asset_type, content_type, size_bytes, status) \
         values ($1, (select auth.uid()), $2, $3, $4, $5, $6, case when $7 then 'ready' else 'pending' end) \
         returning ", media_columns!()),
    )
    .bind(asset.id)
    .bind(asset.bucket)
    .bind(asset.path)
    .bind(asset.asset_type)
    .bind(asset.content_type)
    .bind(asset.size_bytes)
    .bind(asset.ready)
    .fetch_one(tx.conn())
    .await
}

/// An asset the caller may see: their own, or a system asset.
pub async fn get(tx: &mut UserTx, id: Uuid) -> Result<Option<AssetRow>, sqlx::Error> {
    tx.query_as(
        concat!("select ", media_columns!(), " \
         from public.media_assets where id = $1 and (owner_id is null or owner_id = (select auth.uid()))"),
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

/// The key the FastAPI backend stored the caller's photo `id` under, where the service
/// does not derive it (`media_legacy_keys`, written only by the cutover).
pub async fn legacy_key(tx: &mut UserTx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    tx.query_scalar(
        "select key from public.media_legacy_keys \
         where asset_id = $1 and owner_id = (select auth.uid())",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await
}

pub async fn by_path(
    tx: &mut UserTx,
    bucket: &str,
    path: &str,
) -> Result<Option<AssetRow>, sqlx::Error> {
    tx.query_as(
        concat!("select ", media_columns!(), " \
         from public.media_assets where bucket = $1 and path = $2 and owner_id = (select auth.uid())"),
    )
    .bind(bucket)
    .bind(path)
    .fetch_optional(tx.conn())
    .await
}

/// Marks the caller's asset uploaded; `None` when it no longer exists.
pub async fn mark_ready(
    tx: &mut UserTx,
    id: Uuid,
    size: i64,
) -> Result<Option<AssetRow>, sqlx::Error> {
    tx.query_as(concat!(
        "update public.media_assets set status = 'ready', size_bytes = $2 \
         where id = $1 and owner_id = (select auth.uid()) \
         returning ",
        media_columns!()
    ))
    .bind(id)
    .bind(size)
    .fetch_optional(tx.conn())
    .await
}

pub async fn delete(tx: &mut UserTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let result = tx
        .query("delete from public.media_assets where id = $1 and owner_id = (select auth.uid())")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() > 0)
}

/// The caller's own assets, newest first.
pub async fn list_own(
    tx: &mut UserTx,
    page: PageRequest,
) -> Result<(Vec<AssetRow>, i64), sqlx::Error> {
    let assets = tx
        .query_as(concat!(
            "select ",
            media_columns!(),
            " \
         from public.media_assets where owner_id = (select auth.uid()) \
         order by created_at desc, id limit $1 offset $2"
        ))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(tx.conn())
        .await?;
    let total = tx
        .query_scalar(
            "select count(*) from public.media_assets where owner_id = (select auth.uid())",
        )
        .fetch_one(tx.conn())
        .await?;
    Ok((assets, total))
}

/// A machine's ready system assets.
pub async fn for_machine(db: &Db, machine_id: &str) -> Result<Vec<AssetRow>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(
            concat!("select ", media_columns!(), " \
             from public.media_assets where machine_id = $1 and owner_id is null and status = 'ready' \
             order by asset_type, created_at"),
        )
        .bind(machine_id)
        .fetch_all(c)
        .await
    })
    .await
}
