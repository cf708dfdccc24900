//! The scoped calls (`UserTx::call`): one statement that scopes itself to the caller and
//! reads, as a prepared statement on a session's own connection or as one simple-protocol
//! message behind a transaction pooler. Either way only the caller's rows, and the
//! connection goes back to the pool as it was.

use chrono::{DateTime, Utc};
use machinemate_api::db::Db;
use machinemate_api::db::rls::{ScopedCall, UserTx};
use uuid::Uuid;

use super::{add_rows, claims};
use crate::helpers::TestApp;

type FavoriteRow = (String, DateTime<Utc>, Option<String>, DateTime<Utc>);

async fn favorites_of(db: &Db, user: Uuid) -> Vec<String> {
    let rows: Vec<FavoriteRow> = UserTx::call(
        db,
        &claims(user),
        ScopedCall::new("machinemate_read_favorites"),
    )
    .await
    .unwrap();
    rows.into_iter().map(|row| row.0).collect()
}

/// What the pool's one connection says of itself after a call.
async fn session_of(db: &Db) -> (String, Option<String>) {
    sqlx::query_as(
        "select current_user::text, nullif(current_setting('request.jwt.claims', true), '')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_scoped_call_reads_only_the_callers_rows_and_leaves_the_session_as_it_was() {
    let app = TestApp::builder().spawn().await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    add_rows(&app, alice, &["treadmill", "leg_press"]).await;
    add_rows(&app, bob, &["lat_pulldown"]).await;
    // One connection, so the session checked is the one the call ran on. The first
    // pool is a session's own (a prepared statement), the second a transaction
    // pooler's (one simple-protocol message).
    for mode in ["session", "transaction"] {
        let db = app.db_with(&[
            ("DATABASE_MAX_CONNECTIONS", "1"),
            ("DATABASE_POOL_MODE", mode),
        ]);
        let mut alices = favorites_of(&db, alice).await;
        alices.sort();
        assert_eq!(alices, ["leg_press", "treadmill"], "{mode}");
        assert_eq!(favorites_of(&db, bob).await, ["lat_pulldown"], "{mode}");
        let (role, claims) = session_of(&db).await;
        assert_ne!(
            role, "machinemate_request",
            "{mode}: the role outlived the call"
        );
        assert_eq!(claims, None, "{mode}: the claims outlived the call");
    }
}

#[tokio::test]
async fn a_scoped_call_with_no_caller_reads_nothing() {
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
    add_rows(&app, alice, &["treadmill"]).await;
    let db = app.db_with(&[("DATABASE_MAX_CONNECTIONS", "1")]);
    let rows: Vec<FavoriteRow> =
        UserTx::call(&db, "{}", ScopedCall::new("machinemate_read_favorites"))
            .await
            .unwrap();
    assert!(rows.is_empty(), "claims without a subject read {rows:?}");
}
