//! Row Level Security is the second wall: these queries deliberately omit
//! `where user_id = ...` and rely on the policies alone.

use std::time::{Duration, Instant};

use machinemate_api::db::Db;
use machinemate_api::db::rls::{ReadQuery, UserTx};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, database_url, spawn_app, test_settings};

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
    assert!(
        role != "authenticated" && role != "machinemate_request",
        "{role}"
    );
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
    assert_eq!((uid, role.as_str()), (alice, "machinemate_request"));
    drop(tx);
    let favorites_table: bool =
        sqlx::query_scalar("select to_regclass('public.favorites') is not null")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(favorites_table);
}

/// The one-round-trip read (`UserTx::read`) runs as the user too: no `where`, yet only
/// the caller's rows; and it cannot write.
#[tokio::test]
async fn one_round_trip_reads_see_only_the_callers_rows_and_cannot_write() {
    let app = spawn_app().await;
    let (alice, bob) = (sign_up(&app).await, sign_up(&app).await);
    add_rows(&app, alice, &["leg_press", "treadmill"]).await;
    add_rows(&app, bob, &["lat_pulldown"]).await;
    let db = app.app_db();

    let rows: Vec<(Uuid, String, f32)> = UserTx::read(
        &db,
        &claims(alice),
        ReadQuery::new(
            "select f.user_id, f.machine_id, h.confidence from favorites f \
             join history h using (user_id, machine_id) order by f.machine_id",
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (alice, "leg_press".to_owned(), 0.9),
            (alice, "treadmill".to_owned(), 0.9)
        ]
    );
    let (uid,): (Uuid,) = one(&db, alice, ReadQuery::new("select auth.uid()")).await;
    assert_eq!(uid, alice);

    let err = UserTx::read::<(String,)>(
        &db,
        &claims(alice),
        ReadQuery::new("delete from favorites returning machine_id"),
    )
    .await
    .unwrap_err();
    // 25006: read_only_sql_transaction.
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("25006"),
        "{err}"
    );
    let left: i64 = sqlx::query_scalar("select count(*) from favorites where user_id = $1")
        .bind(alice)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 2);
}

/// Values reach the query as the exact text sent, whatever they hold; a NUL is refused
/// by Postgres (22021), as a bound one is, not silently dropped.
#[tokio::test]
async fn one_round_trip_reads_inline_values_exactly() {
    let app = spawn_app().await;
    let alice = sign_up(&app).await;
    let db = app.app_db();
    for text in [
        "plain",
        "O'Brien",
        r"back\slash \' \\' E'",
        "'; delete from favorites; --",
        "$$ dollar $q$ quoting $$",
        "caf\u{e9} \u{1f3cb}",
        "",
    ] {
        let (echoed, is_null): (String, bool) = one(
            &db,
            alice,
            ReadQuery::new("select ")
                .text(Some(text))
                .sql("::text, ")
                .text(Some(text))
                .sql(" is null"),
        )
        .await;
        assert_eq!((echoed.as_str(), is_null), (text, false));
    }
    let (is_null,): (bool,) = one(
        &db,
        alice,
        ReadQuery::new("select ").text(None).sql(" is null"),
    )
    .await;
    assert!(is_null);
    for n in [0, 7, -7, i64::MAX, i64::MIN + 2] {
        // "1 -" followed by a negative number must not become the comment "--".
        let (value,): (i64,) = one(&db, alice, ReadQuery::new("select 1::int8 -").int(n)).await;
        assert_eq!(value, 1 - n);
    }
    let err = UserTx::read::<(String,)>(
        &db,
        &claims(alice),
        ReadQuery::new("select ").text(Some("a\0b")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("22021"),
        "{err}"
    );
}

/// A read that fails part-way, or is abandoned mid-way, leaves its session in a failed
/// or unknown transaction: that connection is closed, never handed to the next caller.
/// On a one-connection pool, every next read works.
#[tokio::test]
async fn a_failed_or_abandoned_read_never_hands_on_a_broken_session() {
    let app = spawn_app().await;
    let alice = sign_up(&app).await;
    add_rows(&app, alice, &["leg_press"]).await;
    let settings = test_settings(
        &database_url(&app.database_name),
        &[("DATABASE_MAX_CONNECTIONS", "1")],
    );
    let db = Db::connect_lazy(&settings.database).unwrap();
    let count = ReadQuery::new("select count(*) from favorites");

    let err = UserTx::read::<(i64,)>(&db, &claims(alice), ReadQuery::new("select 1 / 0"))
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("22012"),
        "{err}"
    );
    assert_eq!(one::<(i64,)>(&db, alice, count.clone()).await, (1,));
    // Decoding fails after Postgres has run everything: the rows do not fit the type.
    let err = UserTx::read::<(Uuid,)>(&db, &claims(alice), ReadQuery::new("select 'x'::text"))
        .await
        .unwrap_err();
    assert!(matches!(err, sqlx::Error::ColumnDecode { .. }), "{err}");
    assert_eq!(one::<(i64,)>(&db, alice, count.clone()).await, (1,));

    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        UserTx::read::<(String,)>(
            &db,
            &claims(alice),
            ReadQuery::new("select pg_sleep(0.5)::text"),
        ),
    )
    .await;
    assert!(abandoned.is_err(), "the read should still be running");
    let started = Instant::now();
    assert_eq!(one::<(i64,)>(&db, alice, count.clone()).await, (1,));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // And the settings never outlive a read.
    let (role, claims_set): (String, Option<String>) = sqlx::query_as(
        "select current_user::text, nullif(current_setting('request.jwt.claims', true), '')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(
        role != "authenticated" && role != "machinemate_request",
        "{role}"
    );
    assert_eq!(claims_set, None);
}

async fn one<R>(db: &Db, user: Uuid, query: ReadQuery) -> R
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut rows: Vec<R> = UserTx::read(db, &claims(user), query).await.unwrap();
    assert_eq!(rows.len(), 1);
    rows.pop().unwrap()
}
