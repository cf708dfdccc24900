//! The same tests on both fixtures: `migrate --check` rehearses the cutover and changes
//! nothing; `migrate` does what it said; every row is read back by its owner; writes
//! after the cutover; a rollback gives back exactly what it took; a later `migrate` cuts
//! over again.

use reqwest::Method;
use serde_json::{Value, json};

use super::readback::{account_holders, assert_read_back, store_legacy_photos};
use super::snapshot::{Rows, assert_same_rows, objects, of, rows_in};
use super::{ALICE, Fixture, fingerprint, live_users, run, run_ok, verified};
use crate::helpers::{TestApp, deleted_count};

const ROLLBACK: &str = include_str!("../../../supabase/cutover/rollback_to_fastapi.sql");

/// Each test, once per fixture.
macro_rules! on_both_fixtures {
    ($($test:ident),* $(,)?) => {
        mod fresh_install {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Fixture::FreshInstall).await;
            })*
        }
        mod live {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Fixture::Live).await;
            })*
        }
    };
}

on_both_fixtures!(
    check_rehearses_the_cutover_changing_nothing_and_migrate_then_does_what_it_said,
    every_row_is_read_back_by_its_owner_with_its_photos_through_signed_urls,
    writes_after_the_cutover_are_served_beside_the_carried_rows,
    a_rollback_gives_back_exactly_what_it_took_and_a_later_migrate_cuts_over_again,
);

/// The user who writes after the cutover, with a favorite and a history entry both
/// fixtures give them.
fn writer(fixture: Fixture) -> &'static str {
    match fixture {
        Fixture::FreshInstall => ALICE,
        Fixture::Live => live_users::ADA,
    }
}
const ENTRY: &str = "4a000000-0000-4000-8000-000000000002";

async fn check_rehearses_the_cutover_changing_nothing_and_migrate_then_does_what_it_said(
    fixture: Fixture,
) {
    let (name, pool) = fixture.database().await;
    let before = fingerprint(&pool).await;
    let output = run("migrate --check", &name);
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("Rehearsed just now, by the same code, then rolled back"),
        "{said}"
    );
    assert!(said.contains("The cutover took "), "{said}");
    assert_eq!(fingerprint(&pool).await, before, "--check changed nothing");

    run_ok("migrate", &name);
    for (table, [fastapi_rows, carried, missing, kept_back]) in verified(&pool).await {
        assert_eq!(
            missing, kept_back,
            "{table}: every row carried or kept back"
        );
        let line = said
            .lines()
            .skip_while(|l| !l.starts_with("verify.sql after the cutover"))
            .find(|l| l.split_whitespace().next() == Some(table.as_str()))
            .unwrap_or_else(|| panic!("--check printed no line for {table}: {said}"));
        let numbers: Vec<i64> = line
            .split_whitespace()
            .skip(1)
            .take(4)
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(
            numbers,
            [fastapi_rows, carried, missing, kept_back],
            "{table}: --check said what migrate did"
        );
    }
}

async fn every_row_is_read_back_by_its_owner_with_its_photos_through_signed_urls(fixture: Fixture) {
    let (app, pool) = fixture.migrated().await;
    store_legacy_photos(&app, &pool, "fastapi_legacy").await;
    for user in account_holders(&pool).await {
        assert_read_back(&app, &pool, &user).await;
    }
}

async fn writes_after_the_cutover_are_served_beside_the_carried_rows(fixture: Fixture) {
    let (name, _pool) = fixture.database().await;
    run_ok("migrate", &name);
    run_ok("seed", &name);
    let app = TestApp::builder().auth().on_database(&name).spawn().await;
    let token = app.token_for(writer(fixture).parse().unwrap());
    let before = app.favorites(&token).await.total;
    let history = app.history_page(&token, "?page_size=100").await.total;
    let sync = app.get_json_as("/api/v1/sync", &token).await;

    assert_eq!(app.add_favorite(&token, "chest_press").await.status(), 201);
    let patched = app
        .update_favorite(&token, "leg_press", json!({"notes": "Seat at 6"}))
        .await;
    assert_eq!(patched.status(), 200);
    let added = app
        .add_history(
            &token,
            json!({"machine_id": "treadmill", "confidence": 0.934}),
        )
        .await;
    assert_eq!(added.status(), 201);
    assert_eq!(
        deleted_count(app.delete_history_entry(&token, ENTRY).await).await,
        1
    );

    let favorites = app.favorites(&token).await;
    assert_eq!(favorites.total, before + 1);
    let leg_press = favorites
        .favorites
        .iter()
        .find(|f| &*f.machine_id == "leg_press")
        .unwrap();
    assert_eq!(leg_press.notes.as_deref(), Some("Seat at 6"));
    let entries = app.history_page(&token, "?page_size=100").await;
    assert_eq!(entries.total, history);
    assert!(
        entries
            .history
            .iter()
            .any(|h| &*h.machine_id == "treadmill" && h.confidence == Some(0.934))
    );
    let next = app
        .get_json_as(
            &format!("/api/v1/sync?since={}", sync["cursor"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(
        (
            next["favorites"]["upserted"].as_array().unwrap().len(),
            next["history"]["upserted"].as_array().unwrap().len(),
            next["history"]["deleted"].as_array().unwrap().len(),
        ),
        (2, 1, 1),
        "offline sync sees only what changed since: {next}"
    );
}

async fn a_rollback_gives_back_exactly_what_it_took_and_a_later_migrate_cuts_over_again(
    fixture: Fixture,
) {
    let (name, pool) = fixture.database().await;
    let (rows_before, objects_before) = (rows_in(&pool, "public").await, objects(&pool).await);
    run_ok("migrate", &name);
    assert_same_rows(
        &rows_in(&pool, "fastapi_legacy").await,
        &rows_before,
        "the archive holds every old row exactly as it was",
    );
    run_ok("seed", &name);
    let app = TestApp::builder().auth().on_database(&name).spawn().await;
    let user = writer(fixture);
    let token = app.token_for(user.parse().unwrap());
    let send = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = app.request(method, path, &token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    };
    let notes = json!({"notes": "Seat at 6"});
    let patch = send(Method::PATCH, "/api/v1/favorites/leg_press", Some(notes)).await;
    assert_eq!(patch.status(), 200);
    let gone = send(Method::DELETE, "/api/v1/favorites/treadmill", None).await;
    assert_eq!(deleted_count(gone).await, 1);
    let entry = json!({"machine_id": "treadmill", "confidence": 0.934});
    let added: Value = send(Method::POST, "/api/v1/history", Some(entry))
        .await
        .json()
        .await
        .unwrap();
    let removed = send(Method::DELETE, &format!("/api/v1/history/{ENTRY}"), None).await;
    assert_eq!(deleted_count(removed).await, 1);
    // A correction of an identification the old backend recorded, made again.
    let (correction, trace): (String, String) = sqlx::query_as(
        "select c.id::text, e.trace_id from fastapi_legacy.identification_corrections c \
         join fastapi_legacy.identification_events e on e.id = c.event_id where c.user_id = $1::uuid",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    let corrected = json!({"machine_id": "chest_press", "source": "history"});
    let answer = app.correct(&token, &trace, corrected).await;
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );

    sqlx::raw_sql(ROLLBACK).execute(&pool).await.unwrap();

    assert_eq!(
        objects(&pool).await,
        objects_before,
        "columns, keys, policies, triggers, functions, views, grants and bucket settings as they were"
    );
    let after = rows_in(&pool, "public").await;
    let changed = [
        ("favorites", format!("{user}/leg_press")),
        ("favorites", format!("{user}/treadmill")),
        ("history", ENTRY.to_owned()),
        ("history", added["id"].as_str().unwrap().to_owned()),
        ("identification_corrections", correction.clone()),
    ];
    let untouched = |rows: &Rows| -> Rows {
        rows.iter()
            .filter(|((t, k), _)| !changed.iter().any(|(ct, ck)| t == ct && k == ck))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_same_rows(
        &untouched(&after),
        &untouched(&rows_before),
        "every untouched row byte for byte",
    );
    let text = |table: &str, key: &str| {
        of(&after, table)
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, row)| row.to_owned())
    };
    let leg_press = text("favorites", &format!("{user}/leg_press")).unwrap();
    assert!(leg_press.contains(",\"Seat at 6\","), "{leg_press}");
    assert_eq!(text("favorites", &format!("{user}/treadmill")), None);
    let corrected = text("identification_corrections", &correction).unwrap();
    assert!(corrected.contains(",chest_press,history,"), "{corrected}");
    assert_eq!(text("history", ENTRY), None);
    let confidence: String =
        sqlx::query_scalar("select confidence::text from history where id = $1")
            .bind(added["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    let full_precision = match fixture {
        Fixture::FreshInstall => "0.93", // numeric(5,2): what the old column holds
        Fixture::Live => "0.934",        // unbounded numeric
    };
    assert_eq!(confidence, full_precision);

    run_ok("migrate", &name);
    let favorites = app.favorites(&token).await;
    assert!(
        favorites
            .favorites
            .iter()
            .any(|f| &*f.machine_id == "leg_press" && f.notes.as_deref() == Some("Seat at 6")),
        "cut over again, with the rolled-back changes: {favorites:?}"
    );
}
