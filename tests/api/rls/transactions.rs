//! A user's transaction: only their rows, never another's, and nothing left behind.

use serde_json::json;
use uuid::Uuid;

use machinemate_api::db::rls::UserTx;

use super::{add_rows, claims};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_user_sees_only_their_own_favorites_and_history() {
    let app = TestApp::builder().spawn().await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
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
    let app = TestApp::builder().spawn().await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
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

    // History entries are not the request role's to change at all (migration
    // 20261204000000 grants it only what the routes do).
    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let err = sqlx::query("update history set confidence = 0.1")
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501")
    );
    drop(tx);

    let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
    let updated = sqlx::query("update favorites set notes = 'mine now'")
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
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
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
    assert!(
        role != "authenticated" && role != "machinemate_request",
        "{role}"
    );
    assert_eq!(sub, None);
}

#[tokio::test]
async fn the_catalog_is_readable_by_all_and_writable_by_none_of_them() {
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
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
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
    let db = app.app_db();
    let claims = json!({
        "sub": alice,
        "role": "authenticated",
        "user_metadata": {
            "full_name": "O'Brien \\ '); drop table favorites; -- $$ $tag$ \u{1F3CB} \"quoted\"",
            "nested": ["\\\\", "''", "E'x'"]
        }
    });
    let mut tx = UserTx::begin(&db, &claims.to_string()).await.unwrap();
    let (same, uid, role): (bool, Uuid, String) = sqlx::query_as(
        "select current_setting('request.jwt.claims')::jsonb = $1::jsonb, auth.uid(), current_user::text",
    )
    .bind(&claims)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    assert!(same, "the claims changed on the way in");
    assert_eq!((uid, role.as_str()), (alice, "machinemate_request"));
    drop(tx);
    let favorites_table: bool =
        sqlx::query_scalar("select to_regclass('public.favorites') is not null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(favorites_table);
}

#[tokio::test]
async fn the_policies_refuse_a_correction_of_anothers_trace_and_a_media_row_outside_uploads() {
    let app = TestApp::builder().spawn().await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    sqlx::query(
        "insert into identification_events (trace_id, user_id, machine_name, confidence) \
         values ('bobs-trace', $1, 'Leg Press', 0.9), ('alices-trace', $2, 'Leg Press', 0.9)",
    )
    .bind(bob)
    .bind(alice)
    .execute(&app.db)
    .await
    .unwrap();
    let db = app.app_db();
    // Alice, as the per-request role, with no handler in the way.
    let refused = async |sql: String| {
        let mut tx = UserTx::begin(&db, &claims(alice)).await.unwrap();
        let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(tx.conn())
            .await;
        match result {
            Err(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned()),
            Ok(_) => {
                tx.commit().await.unwrap();
                None
            }
        }
    };
    assert_eq!(
        refused(format!(
            "insert into identification_corrections (trace_id, user_id, machine_id) \
             values ('bobs-trace', '{alice}', 'treadmill')"
        ))
        .await
        .as_deref(),
        Some("42501"),
        "a correction of another user's trace"
    );
    assert_eq!(
        refused(format!(
            "insert into media_assets (owner_id, bucket, path, asset_type, content_type) \
             values ('{alice}', 'machines', 'leg_press/hero.jpg', 'image', 'image/jpeg')"
        ))
        .await
        .as_deref(),
        Some("42501"),
        "a media row in the catalog bucket"
    );
    // What the routes do is still allowed.
    assert_eq!(
        refused(format!(
            "insert into identification_corrections (trace_id, user_id, machine_id) \
             values ('alices-trace', '{alice}', 'treadmill')"
        ))
        .await,
        None
    );
    assert_eq!(
        refused(format!(
            "insert into media_assets (owner_id, bucket, path, asset_type, content_type) \
             values ('{alice}', 'user-uploads', '{alice}/{}.jpg', 'user_photo', 'image/jpeg')",
            Uuid::new_v4()
        ))
        .await,
        None
    );
}
