//! Row Level Security is the second wall: these queries deliberately omit
//! `where user_id = ...` and rely on the policies alone.
//!
//! `transactions.rs`: a user's transaction (`UserTx::begin`); `calls.rs`: the scoped
//! calls (`UserTx::call`); `reads.rs`: the one-round-trip read (`UserTx::read`).

mod calls;
mod reads;
mod transactions;

use machinemate_api::db::Db;
use machinemate_api::db::rls::{ReadQuery, UserTx};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

pub async fn add_rows(app: &TestApp, user: Uuid, machines: &[&str]) {
    for machine in machines {
        sqlx::query("insert into favorites (user_id, machine_id) values ($1, $2)")
            .bind(user)
            .bind(machine)
            .execute(&app.db)
            .await
            .unwrap();
        sqlx::query("insert into history (user_id, machine_id, confidence) values ($1, $2, 0.9)")
            .bind(user)
            .bind(machine)
            .execute(&app.db)
            .await
            .unwrap();
    }
}

/// A user's claims as the service sends them: JSON text.
pub fn claims(user: Uuid) -> String {
    json!({"sub": user, "role": "authenticated", "aud": "authenticated"}).to_string()
}

/// A one-round-trip read as `user` that must answer exactly one row.
pub async fn one<R>(db: &Db, user: Uuid, query: ReadQuery) -> R
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut rows: Vec<R> = UserTx::read(db, &claims(user), query).await.unwrap();
    assert_eq!(rows.len(), 1);
    rows.pop().unwrap()
}
