//! Favorites, always inside the caller's RLS transaction (and scoped by `auth.uid()`
//! explicitly as well: the policies are the second wall, not the only one). Every
//! favorite is read the same way: its own columns, then its machine from the catalog's
//! index ([`super::embed`]). What the API answers is `crate::routes::favorites::Favorite`.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;
use super::embed::{MachineIndex, WithMachine, attach, attach_in};
use super::query::Statements;
use super::rls::{ScopedCall, UserTx};
use crate::domain::machine_id::MachineId;
use crate::error::ApiResult;

/// A favorite's own columns.
#[derive(Debug, FromRow)]
pub struct FavoriteRow {
    pub machine_id: MachineId,
    pub created_at: DateTime<Utc>,
    pub notes: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`FavoriteRow`].
macro_rules! columns {
    () => {
        "machine_id, created_at, notes, updated_at"
    };
}

/// The one favorite `row` (if any) with its machine, inside the transaction.
async fn with_machine(
    tx: &mut UserTx,
    machines: &MachineIndex,
    row: Option<FavoriteRow>,
) -> Result<Option<WithMachine<FavoriteRow>>, sqlx::Error> {
    let paired = attach_in(tx, machines, row.into_iter().collect(), |r| &*r.machine_id).await?;
    Ok(paired.into_iter().next())
}

/// The caller's favorites, newest first, with their machines from `machines`.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &Db,
    claims: &str,
    machines: &MachineIndex,
) -> ApiResult<Vec<WithMachine<FavoriteRow>>> {
    // The function (migration 20261208000000) scopes the statement to the caller and
    // reads as the caller, under the favorites policy, newest first.
    let rows: Vec<FavoriteRow> =
        UserTx::call(db, claims, ScopedCall::new("machinemate_read_favorites")).await?;
    Ok(attach(db, machines, rows, |row| &*row.machine_id).await?)
}

#[tracing::instrument(skip(tx, machines))]
pub async fn get(
    tx: &mut UserTx,
    machines: &MachineIndex,
    machine_id: &str,
) -> Result<Option<WithMachine<FavoriteRow>>, sqlx::Error> {
    let row = tx
        .query_as(concat!(
            "select ",
            columns!(),
            " from public.favorites where user_id = (select auth.uid()) and machine_id = $1"
        ))
        .bind(machine_id)
        .fetch_optional(tx.conn())
        .await?;
    with_machine(tx, machines, row).await
}

/// Adds a favorite. Violates `favorites_pkey` when it exists, and
/// `favorites_machine_id_fkey` when the machine does not.
#[tracing::instrument(skip(tx, machines, notes))]
pub async fn add(
    tx: &mut UserTx,
    machines: &MachineIndex,
    machine_id: &str,
    notes: Option<&str>,
) -> Result<WithMachine<FavoriteRow>, sqlx::Error> {
    let row = tx
        .query_as(concat!(
            "insert into public.favorites (user_id, machine_id, notes) \
             values ((select auth.uid()), $1, $2) returning ",
            columns!()
        ))
        .bind(machine_id)
        .bind(notes)
        .fetch_one(tx.conn())
        .await?;
    // The foreign key has just seen the machine, so it is there to embed.
    with_machine(tx, machines, Some(row))
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Sets (or with `None`, clears) the notes of a favorite.
#[tracing::instrument(skip(tx, machines, notes))]
pub async fn set_notes(
    tx: &mut UserTx,
    machines: &MachineIndex,
    machine_id: &str,
    notes: Option<&str>,
) -> Result<Option<WithMachine<FavoriteRow>>, sqlx::Error> {
    let row = tx
        .query_as(concat!(
            "update public.favorites set notes = $2 \
             where user_id = (select auth.uid()) and machine_id = $1 returning ",
            columns!()
        ))
        .bind(machine_id)
        .bind(notes)
        .fetch_optional(tx.conn())
        .await?;
    with_machine(tx, machines, row).await
}

/// Removes one favorite; false when there was none.
#[tracing::instrument(skip(tx))]
pub async fn remove(tx: &mut UserTx, machine_id: &str) -> Result<bool, sqlx::Error> {
    let result = tx
        .query(
            "delete from public.favorites where user_id = (select auth.uid()) and machine_id = $1",
        )
        .bind(machine_id)
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected() > 0)
}

#[tracing::instrument(skip_all)]
pub async fn clear(tx: &mut UserTx) -> Result<u64, sqlx::Error> {
    let result = tx
        .query("delete from public.favorites where user_id = (select auth.uid())")
        .execute(tx.conn())
        .await?;
    Ok(result.rows_affected())
}
