//! The one-round-trip read (`UserTx::read`): as the user too, read-only, values inlined
//! exactly, and no broken session handed on.

use std::time::{Duration, Instant};

use machinemate_api::db::rls::{ReadQuery, UserTx};
use uuid::Uuid;

use super::{add_rows, claims, one};
use crate::helpers::TestApp;

/// The one-round-trip read (`UserTx::read`) runs as the user too: no `where`, yet only
/// the caller's rows; and it cannot write.
#[tokio::test]
async fn one_round_trip_reads_see_only_the_callers_rows_and_cannot_write() {
    let app = TestApp::builder().spawn().await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
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
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
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
    let app = TestApp::builder().spawn().await;
    let alice = app.sign_up().await;
    add_rows(&app, alice, &["leg_press"]).await;
    let db = app.db_with(&[("DATABASE_MAX_CONNECTIONS", "1")]);
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
