//! Profiles and account-wide operations. Everything except `ensure_profile` runs in
//! the caller's RLS transaction, so only the caller's rows are ever reachable.

use super::query::Statements;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use super::rls::UserTx;

#[derive(Debug, Clone, FromRow)]
pub struct Profile {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub preferences: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a PATCH changes: `Some(None)` clears a field, `None` leaves it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub preferences: Option<Value>,
}

/// Makes sure the user has a profile: creates the profile of a Supabase user the sign-up
/// trigger missed (as the service's own role: users cannot insert profiles themselves),
/// never that of a deleted account. Returns whether the user has a profile now: `false`
/// for a deleted account (or a user Supabase Auth no longer has).
///
/// A profile that exists is only read: the insert is not even tried. An insert's unique
/// check waits for any transaction that has changed the row (each write of the user's
/// takes their next sync version there), so a burst of a new token's first requests
/// would each hold a pooled connection waiting behind the user's own writes
/// (`tests/api/concurrent_writes.rs`); a read of the row waits for nothing.
#[tracing::instrument(skip(db))]
pub async fn ensure_profile(db: &Db, id: Uuid) -> Result<bool, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_scalar(
            "with existing as (select 1 from public.users where id = $1), \
             created as ( \
               insert into public.users (id, email) select u.id, u.email from auth.users u \
               where u.id = $1 \
                 and not exists (select 1 from existing) \
                 and not exists (select 1 from public.deleted_accounts d where d.user_id = $1) \
               on conflict (id) do nothing returning 1) \
             select exists (select 1 from existing) or exists (select 1 from created)",
        )
        .bind(id)
        .fetch_one(c)
        .await
    })
    .await
}

#[tracing::instrument(skip_all)]
pub async fn get_profile(tx: &mut UserTx) -> Result<Option<Profile>, sqlx::Error> {
    tx.query_as(
        "select id, email, display_name, avatar_url, preferences, created_at, updated_at \
         from public.users where id = (select auth.uid())",
    )
    .fetch_optional(tx.conn())
    .await
}

#[tracing::instrument(skip_all)]
pub async fn update_profile(
    tx: &mut UserTx,
    changes: &ProfileChanges,
) -> Result<Option<Profile>, sqlx::Error> {
    tx.query_as(
        "update public.users set \
           display_name = case when $1 then $2 else display_name end, \
           avatar_url = case when $3 then $4 else avatar_url end, \
           preferences = coalesce($5, preferences) \
         where id = (select auth.uid()) \
         returning id, email, display_name, avatar_url, preferences, created_at, updated_at",
    )
    .bind(changes.display_name.is_some())
    .bind(changes.display_name.clone().flatten())
    .bind(changes.avatar_url.is_some())
    .bind(changes.avatar_url.clone().flatten())
    .bind(&changes.preferences)
    .fetch_optional(tx.conn())
    .await
}

/// Deletes the caller's profile; favorites, history, identification records and media
/// records go with it (foreign keys cascade). Returns whether a profile existed.
#[tracing::instrument(skip_all)]
pub async fn delete_account(tx: &mut UserTx) -> Result<bool, sqlx::Error> {
    let result = tx
        .query("delete from public.users where id = (select auth.uid())")
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Deletes what the FastAPI backend's archive holds about a user (`fastapi_legacy`, kept
/// after a cutover until it is final: docs/cutover.md): the old profile, favorites and
/// history (named here: the live tables have no foreign keys to cascade), and with the
/// profile, through its foreign keys, the old media rows. A no-op where there is no
/// archive. Returns how many old profiles went (0 or 1).
#[tracing::instrument(skip(db))]
pub async fn forget_archived(db: &Db, id: Uuid) -> Result<u64, sqlx::Error> {
    db.with_conn(async |c| {
        let archived: bool = db
            .query_scalar("select to_regclass('fastapi_legacy.users') is not null")
            .fetch_one(&mut *c)
            .await?;
        if !archived {
            return Ok(0);
        }
        let result = db
            .query(
                "with favorites as (delete from fastapi_legacy.favorites where user_id = $1), \
                      history as (delete from fastapi_legacy.history where user_id = $1) \
                 delete from fastapi_legacy.users where id = $1",
            )
            .bind(id)
            .execute(&mut *c)
            .await?;
        Ok(result.rows_affected())
    })
    .await
}
