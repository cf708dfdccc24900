//! Row Level Security is the second wall: these queries deliberately omit
//! `where user_id = ...` and rely on the policies alone.

use machinemate_api::db::rls::UserTx;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

async fn sign_up(app: &TestApp) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("insert into auth.users (id, email) values ($1, $2)")
        .bind(id)
        .bind(format!("{id}@example.com"))
        .execute(&app.db)
        .await
        .unwrap();
    id
}

async fn add_rows(app: &TestApp, user: Uuid, machines: &[&str]) {
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

fn claims(user: Uuid) -> serde_json::Value {
    json!({"sub": user, "role": "authenticated", "aud": "authenticated"})
}

#[tokio::test]
async fn a_user_sees_only_their_own_favorites_and_history() {
    let app = spawn_app().await;
    let (alice, bob) = (sign_up(&app).await, sign_up(&app).await);
    add_rows(&app, alice, &["leg_press", "treadmill"]).await;
    add_rows(&app, bob, &["lat_pulldown"]).await;

    let db = app.app_db();
    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let favorites: Vec<(Uuid, String)> =
        sqlx::query_as("select user_id, machine_id from favorites")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    assert_eq!(favorites.len(), 2);
    assert!(favorites.iter().all(|(user, _)| *user == alice));
    let history: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(history, 2);
    let uid: Uuid = sqlx::query_scalar("select auth.uid()")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(uid, alice);
}

#[tokio::test]
async fn writing_another_users_rows_fails() {
    let app = spawn_app().await;
    let (alice, bob) = (sign_up(&app).await, sign_up(&app).await);
    add_rows(&app, bob, &["lat_pulldown"]).await;
    let db = app.app_db();

    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let err = sqlx::query("insert into favorites (user_id, machine_id) values ($1, 'leg_press')")
        .bind(bob)
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501"),
        "{err}"
    );
    drop(tx);

    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let updated = sqlx::query("update history set confidence = 0.1")
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let deleted = sqlx::query("delete from favorites")
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    tx.commit().await.unwrap();

    let bobs: i64 = sqlx::query_scalar("select count(*) from favorites where user_id = $1")
        .bind(bob)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(bobs, 1);
}

#[tokio::test]
async fn the_settings_do_not_outlive_the_transaction() {
    let app = spawn_app().await;
    let alice = sign_up(&app).await;
    let db = app.app_db();
    let tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    tx.commit().await.unwrap();
    // The same pooled connection is now back to the service's own role.
    let (role, sub): (String, Option<String>) = sqlx::query_as(
        "select current_user::text, nullif(current_setting('request.jwt.claims', true), '')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_ne!(role, "authenticated");
    assert_eq!(sub, None);
}

#[tokio::test]
async fn the_catalog_is_readable_by_all_and_writable_by_none_of_them() {
    let app = spawn_app().await;
    let alice = sign_up(&app).await;
    let db = app.app_db();
    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let count: i64 = sqlx::query_scalar("select count(*) from machines")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert!(count >= 40);
    let err = sqlx::query("update machines set name = 'Hacked' where id = 'leg_press'")
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501")
    );
    drop(tx);

    let mut anon = app.db.begin().await.unwrap();
    sqlx::query("set local role anon")
        .execute(&mut *anon)
        .await
        .unwrap();
    let err = sqlx::query("select count(*) from favorites")
        .execute(&mut *anon)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501")
    );
}

#[tokio::test]
async fn hostile_claims_arrive_intact_and_inject_nothing() {
    let app = spawn_app().await;
    let alice = sign_up(&app).await;
    let db = app.app_db();
    let claims = json!({
        "sub": alice,
        "role": "authenticated",
        "user_metadata": {
            "full_name": "O'Brien \\ '); drop table favorites; -- $$ $tag$ \u{1F3CB} \"quoted\"",
            "nested": ["\\\\", "''", "E'x'"]
        }
    });
    let mut tx = UserTx::begin(&db, &claims).await.unwrap();
    let (same, uid, role): (bool, Uuid, String) = sqlx::query_as(
        "select current_setting('request.jwt.claims')::jsonb = $1::jsonb, auth.uid(), current_user::text",
    )
    .bind(&claims)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert!(same, "the claims changed on the way in");
    assert_eq!((uid, role.as_str()), (alice, "authenticated"));
    drop(tx);
    let favorites_table: bool =
        sqlx::query_scalar("select to_regclass('public.favorites') is not null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(favorites_table);
}
