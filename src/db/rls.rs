//! The user-scoped transaction: every query about a user's own data runs as role
//! `authenticated` with the caller's JWT claims in `request.jwt.claims`, exactly as
//! Supabase's Data API does, so Row Level Security guards each row even if a handler
//! forgets a `where user_id = ...` (defence in depth).

use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::Db;

/// An open transaction scoped to one user. Commit it, or it rolls back on drop.
pub struct UserTx {
    tx: Transaction<'static, Postgres>,
    persistent: bool,
}

impl UserTx {
    /// Begins a transaction as `authenticated` with `claims` (which must hold `sub`).
    pub async fn begin(db: &Db, claims: &Value) -> Result<Self, sqlx::Error> {
        let mut tx = db.pool().begin().await?;
        // One round trip; both settings are local to this transaction, so nothing leaks
        // to the next user of the pooled connection (also under a transaction pooler).
        sqlx::query(
            "select set_config('role', 'authenticated', true), \
                    set_config('request.jwt.claims', $1, true)",
        )
        .bind(claims.to_string())
        .persistent(db.persistent())
        .execute(&mut *tx)
        .await?;
        Ok(UserTx {
            tx,
            persistent: db.persistent(),
        })
    }

    /// The connection, for queries inside the transaction.
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub fn persistent(&self) -> bool {
        self.persistent
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
