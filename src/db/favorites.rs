//! Favorites, always inside the caller's RLS transaction (and scoped by `auth.uid()`
//! explicitly as well: the policies are the second wall, not the only one).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::Db;
use super::machines::{MachineIndex, attach, machine_columns};
use super::rls::{ReadQuery, UserTx};
use crate::domain::machine::Machine;

/// A favorite with its machine embedded, as the app shows it.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Favorite {
    #[sqlx(rename = "fav_machine_id")]
    pub machine_id: String,
    #[sqlx(rename = "fav_created_at")]
    pub created_at: DateTime<Utc>,
    #[sqlx(rename = "fav_notes")]
    pub notes: Option<String>,
    #[sqlx(rename = "fav_updated_at")]
    pub updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub machine: Machine,
}

macro_rules! favorite_select {
    ($from:literal) => {
        concat!(
            "select f.machine_id as fav_machine_id, f.created_at as fav_created_at, \
             f.notes as fav_notes, f.updated_at as fav_updated_at, ",
            machine_columns!(),
            " from ",
            $from,
            " f join public.machines m on m.id = f.machine_id"
        )
    };
}

/// A favorite's own columns, before its machine is attached.
#[derive(FromRow)]
struct FavoriteRow {
    machine_id: String,
    created_at: DateTime<Utc>,
    notes: Option<String>,
    updated_at: DateTime<Utc>,
}

/// The caller's favorites, newest first; machines come from `machines` (see
/// [`super::machines::attach`]).
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    claims: &Value,
    machines: &MachineIndex,
) -> Result<Vec<Favorite>, sqlx::Error> {
    let rows: Vec<FavoriteRow> = UserTx::read(
        db,
        claims,
        ReadQuery::new(
            "select machine_id, created_at, notes, updated_at from public.favorites \
             where user_id = (select auth.uid()) order by created_at desc, machine_id",
        ),
    )
    .await?;
    Ok(attach(db, machines, rows, |row| &row.machine_id)
        .await?
        .into_iter()
        .map(|(row, machine)| Favorite {
            machine_id: row.machine_id,
            created_at: row.created_at,
            notes: row.notes,
            updated_at: row.updated_at,
            machine,
        })
        .collect())
}

#[tracing::instrument(skip(tx))]
pub async fn get(tx: &mut UserTx, machine_id: &str) -> Result<Option<Favorite>, sqlx::Error> {
    let persistent = tx.persistent();
    sqlx::query_as(concat!(
        favorite_select!("public.favorites"),
        " where f.user_id = (select auth.uid()) and f.machine_id = $1"
    ))
    .bind(machine_id)
    .persistent(persistent)
    .fetch_optional(tx.conn())
    .await
}

/// Adds a favorite. Violates `favorites_pkey` when it exists, and
/// `favorites_machine_id_fkey` when the machine does not.
#[tracing::instrument(skip(tx, notes))]
pub async fn add(
    tx: &mut UserTx,
    machine_id: &str,
    notes: Option<&str>,
) -> Result<Favorite, sqlx::Error> {
    let persistent = tx.persistent();
    sqlx::query_as(concat!(
        "with inserted as (insert into public.favorites (user_id, machine_id, notes) \
         values ((select auth.uid()), $1, $2) returning *) ",
        favorite_select!("inserted")
    ))
    .bind(machine_id)
    .bind(notes)
    .persistent(persistent)
    .fetch_one(tx.conn())
    .await
}

/// Sets (or with `None`, clears) the notes of a favorite.
#[tracing::instrument(skip(tx, notes))]
pub async fn set_notes(
    tx: &mut UserTx,
    machine_id: &str,
    notes: Option<&str>,
) -> Result<Option<Favorite>, sqlx::Error> {
    let persistent = tx.persistent();
    sqlx::query_as(concat!(
        "with updated as (update public.favorites set notes = $2 \
         where user_id = (select auth.uid()) and machine_id = $1 returning *) ",
        favorite_select!("updated")
    ))
    .bind(machine_id)
    .bind(notes)
    .persistent(persistent)
    .fetch_optional(tx.conn())
    .await
}

/// Removes one favorite; false when there was none.
#[tracing::instrument(skip(tx))]
pub async fn remove(tx: &mut UserTx, machine_id: &str) -> Result<bool, sqlx::Error> {
    let persistent = tx.persistent();
    let result = sqlx::query(
        "delete from public.favorites where user_id = (select auth.uid()) and machine_id = $1",
    )
    .bind(machine_id)
    .persistent(persistent)
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() > 0)
}

#[tracing::instrument(skip_all)]
pub async fn clear(tx: &mut UserTx) -> Result<u64, sqlx::Error> {
    let persistent = tx.persistent();
    let result = sqlx::query("delete from public.favorites where user_id = (select auth.uid())")
        .persistent(persistent)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected())
}
