//! The fixture migrated and seeded, then read through the API as each of its users.

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{ALICE, BOB, CAROL, DAVE, ERIN, fastapi_database, rows, run_ok};
use crate::helpers::TestApp;

fn instant(value: &Value) -> Option<DateTime<FixedOffset>> {
    value
        .as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).unwrap())
}

/// Asserts that the API's `item` carries the archived `row`'s values, field by field
/// (`(api field, archive column)`); timestamps compare as instants, numbers as numbers.
fn assert_same(item: &Value, row: &Value, fields: &[(&str, &str)], what: &str) {
    for (api, column) in fields {
        let (a, b) = (&item[api], &row[column]);
        let same = if api.ends_with("_at") {
            instant(a) == instant(b)
        } else if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
            (x - y).abs() < 1e-6
        } else {
            a == b
        };
        assert!(same, "{what}: {api} is {a}, was {b}");
    }
}

/// The fixture migrated and seeded, the app on it, and a superuser pool on it.
pub struct Migrated {
    pub app: TestApp,
    pub pool: PgPool,
}

impl Migrated {
    /// A Supabase access token for a fixture user (the phone sign-up's has no email).
    pub fn token(&self, user: &str) -> String {
        let claims = if user == DAVE {
            json!({"email": "", "phone": "15550100"})
        } else {
            json!({})
        };
        self.app.token_with(user.parse().unwrap(), claims)
    }

    /// `GET path` as a fixture user, which must answer 200.
    pub async fn get(&self, path: &str, user: &str) -> Value {
        self.app.get_json_as(path, &self.token(user)).await
    }
}

pub async fn migrated() -> Migrated {
    let (name, pool) = fastapi_database().await;
    run_ok("migrate", &name);
    run_ok("seed", &name);
    let app = TestApp::builder().auth().on_database(&name).spawn().await;
    Migrated { app, pool }
}

#[tokio::test]
async fn every_fastapi_favorite_and_history_entry_is_readable_by_its_owner_with_the_same_values() {
    let m = migrated().await;
    for user in [ALICE, BOB, CAROL, DAVE, ERIN] {
        let favorites = m.get("/api/v1/favorites", user).await;
        let old = rows(
            &m.pool,
            &format!("select * from fastapi_legacy.favorites where user_id = '{user}' order by created_at desc"),
        )
        .await;
        let items = favorites["favorites"].as_array().unwrap();
        assert_eq!(items.len(), old.len(), "{user}: favorites");
        for (item, row) in items.iter().zip(&old) {
            assert_same(
                item,
                row,
                &[
                    ("machine_id", "machine_id"),
                    ("notes", "notes"),
                    ("created_at", "created_at"),
                ],
                "favorite",
            );
            assert_eq!(item["machine"]["id"], row["machine_id"]);
        }

        let history = m.get("/api/v1/history?page_size=100", user).await;
        let old = rows(
            &m.pool,
            &format!("select * from fastapi_legacy.history where user_id = '{user}' order by taken_at desc, id"),
        )
        .await;
        let items = history["history"].as_array().unwrap();
        assert_eq!(items.len(), old.len(), "{user}: history");
        for (item, row) in items.iter().zip(&old) {
            assert_same(
                item,
                row,
                &[
                    ("id", "id"),
                    ("machine_id", "machine_id"),
                    ("confidence", "confidence"),
                    ("source", "source"),
                    ("taken_at", "taken_at"),
                    ("created_at", "created_at"),
                    ("photo_uri", "photo_uri"),
                ],
                "history entry",
            );
        }
    }
}

#[tokio::test]
async fn offline_sync_carries_the_copied_rows_and_then_only_what_changed() {
    let m = migrated().await;
    // Offline sync sees the copied rows, and a change made now comes after them.
    let sync = m.get("/api/v1/sync", ALICE).await;
    assert_eq!(
        (
            sync["favorites"]["upserted"].as_array().unwrap().len(),
            sync["history"]["upserted"].as_array().unwrap().len()
        ),
        (3, 6)
    );
    let added = m.app.add_favorite(&m.token(ALICE), "chest_press").await;
    assert_eq!(added.status(), 201);
    let cursor = sync["cursor"].as_str().unwrap();
    let next = m.get(&format!("/api/v1/sync?since={cursor}"), ALICE).await;
    let upserted = next["favorites"]["upserted"].as_array().unwrap();
    assert_eq!(
        (
            upserted.len(),
            next["history"]["upserted"].as_array().unwrap().len()
        ),
        (1, 0),
        "{next}"
    );
    assert_eq!(upserted[0]["machine_id"], "chest_press");
}

#[tokio::test]
async fn profiles_are_carried_and_the_phone_sign_up_gets_one() {
    let m = migrated().await;
    // Profiles: the old ones, and one for the phone sign-up the old trigger skipped.
    let alice = m.get("/api/v1/users/me", ALICE).await;
    assert_eq!(
        (
            &alice["email"],
            &alice["display_name"],
            &alice["avatar_url"],
            &alice["preferences"]
        ),
        (
            &json!("alice@example.com"),
            &json!("Alice Example"),
            &json!("https://cdn.example.com/a/alice.png"),
            &json!({"units": "kg", "low_confidence_hint": true})
        )
    );
    assert_eq!(
        m.get("/api/v1/users/me", CAROL).await["display_name"],
        "Carol O'Neil"
    );
    assert_eq!(m.get("/api/v1/users/me", DAVE).await["email"], Value::Null);
}

#[tokio::test]
async fn media_records_traces_and_corrections_are_carried_to_their_owners() {
    let m = migrated().await;
    // Media rows are the new records; identifications keep their trace ids.
    let media = m.get("/api/v1/media", ALICE).await;
    assert_eq!(media["total"], 1);
    assert_eq!(
        (
            &media["assets"][0]["id"],
            &media["assets"][0]["bucket"],
            &media["assets"][0]["path"]
        ),
        (
            // The file's own uuid, from which the service derives the file's key.
            &json!("9b2f6a1e-7c1d-4b8e-9f00-1a2b3c4d5e6f"),
            &json!("user-uploads"),
            &json!(format!("{ALICE}/9b2f6a1e-7c1d-4b8e-9f00-1a2b3c4d5e6f.jpg"))
        ),
        "{media}"
    );
    let trace = m
        .get("/traces/f3b1c2d4e5f60718293a4b5c6d7e8f90", ALICE)
        .await;
    assert_eq!(
        (
            &trace["machine"],
            &trace["prompt_variant"],
            &trace["raw_machine"]
        ),
        (
            &json!("Hack Squat Machine"),
            &json!("catalog_baseline"),
            &json!("hack squat")
        )
    );
    let bobs = m
        .app
        .get_as("/traces/f3b1c2d4e5f60718293a4b5c6d7e8f90", &m.token(BOB))
        .await;
    assert_eq!(bobs.status(), 404, "a trace stays its owner's");
    let export = m.get("/api/v1/users/me/export", ALICE).await;
    let corrections = export["identification_corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(
        (&corrections[0]["trace_id"], &corrections[0]["machine_id"]),
        (
            &json!("f3b1c2d4e5f60718293a4b5c6d7e8f90"),
            &json!("leg_press")
        )
    );
    assert_eq!(
        (
            &corrections[0]["source"],
            &corrections[0]["time_to_correction_ms"]
        ),
        (&json!("picker"), &json!(5400)),
        "the old `manual_picker` is the picker; the time is carried"
    );
}

#[tokio::test]
async fn an_identification_the_old_backend_recorded_months_ago_can_still_be_corrected() {
    // Its time to correction is longer than the column's 2^31 - 1 milliseconds (25 days).
    let m = migrated().await;
    let corrected = m
        .app
        .correct(
            &m.token(ALICE),
            "f3b1c2d4e5f60718293a4b5c6d7e8f90",
            json!({"machine_id": "hack_squat_machine"}),
        )
        .await;
    assert_eq!(corrected.status(), 201);
    let recorded: Value = corrected.json().await.unwrap();
    assert_eq!(recorded["time_to_correction_ms"], json!(i32::MAX));
}
