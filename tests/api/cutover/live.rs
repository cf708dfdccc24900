//! What only the live database shows (docs/cutover.md, "How the live database was
//! really built"): each of the issue's reproductions, on `fastapi_live_*.sql`.

use serde_json::{Value, json};
use sqlx::PgPool;

use super::live_users::{ADA, BEN, CY, GONE};
use super::{Fixture, rows, run};
use crate::app_compat::{bundled, load_catalog};
use crate::helpers::{FAVORITES, HISTORY, TestApp, assert_error};

/// The live fixture migrated and seeded, the app on it (with storage), and a superuser pool.
pub async fn migrated() -> (TestApp, PgPool) {
    Fixture::Live.migrated().await
}

pub fn token(app: &TestApp, user: &str) -> String {
    app.token_for(user.parse().unwrap())
}

#[tokio::test]
async fn favorites_and_history_of_machines_the_catalog_lacks_point_at_retired_placeholders() {
    let (app, pool) = migrated().await;
    let ben = token(&app, BEN);
    let favorites = app.get_json_as(FAVORITES, &ben).await;
    let smith = favorites["favorites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["machine_id"] == "smith_machine")
        .unwrap_or_else(|| panic!("{favorites}"));
    assert_eq!(
        (&smith["notes"], &smith["machine"]["is_active"]),
        (&json!("Bar at hole 9"), &json!(false))
    );
    let placeholder = app.get_json("/api/v1/machines/smith_machine", 200).await;
    assert_eq!(placeholder["name"], "Smith Machine (retired)");
    // Not listed: the app's catalog load is the app's 39 machines and this service's own.
    let served = load_catalog(&app).await;
    assert!(served.iter().all(|m| m["id"] != "smith_machine"));
    for b in bundled() {
        let listed = served.iter().filter(|m| m["id"] == json!(b.id)).count();
        let retired = b.id == "torso_rotation_machine"; // by the gym, before the cutover
        assert_eq!(listed, usize::from(!retired), "{}", b.id);
    }
    let search = app
        .get_json("/api/v1/machines?search=smith&page_size=100", 200)
        .await;
    assert!(
        search["machines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "smith_machine")
    );
    // Offline sync carries it as the retired machine it is, with Ben's favorite of it.
    let sync = app.get_json_as("/api/v1/sync", &ben).await;
    let synced = sync["machines"]["upserted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "smith_machine")
        .unwrap_or_else(|| panic!("{sync}"));
    assert_eq!(synced["is_active"], false);
    assert!(
        sync["favorites"]["upserted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["machine_id"] == "smith_machine")
    );
    // A placeholder for a machine `seed` brings (the air bike) became that machine.
    let air_bike = app.get_json("/api/v1/machines/air_bike", 200).await;
    assert_eq!(
        (&air_bike["is_active"], &air_bike["name"]),
        (&json!(true), &json!("Air Bike"))
    );
    // The rows of the id no catalog may hold, and of the user with no account, stay in the
    // archive only.
    let kept: Vec<Value> = rows(
        &pool,
        "select table_name, key, reason from fastapi_legacy.kept_back \
         where table_name in ('favorites', 'history') order by 1, 2",
    )
    .await;
    assert_eq!(
        kept,
        vec![
            json!({"table_name": "favorites", "key": format!("{GONE}/leg_press"), "reason": "user without an account"}),
            json!({"table_name": "history", "key": "4b000000-0000-4000-8000-000000000009", "reason": "machine id no catalog may hold"}),
            json!({"table_name": "history", "key": "4e000000-0000-4000-8000-000000000001", "reason": "user without an account"}),
        ]
    );
    // Cy's profile had been deleted by hand; Cy still signs in, so their rows are theirs.
    let cy = token(&app, CY);
    assert_eq!(app.get_json_as(FAVORITES, &cy).await["total"], 1);
}

#[tokio::test]
async fn percentages_are_served_as_fractions_and_other_out_of_range_confidences_as_null() {
    let (app, pool) = migrated().await;
    let history = app
        .get_json_as(&format!("{HISTORY}?page_size=100"), &token(&app, BEN))
        .await;
    let served = |id: &str| {
        history["history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == id)
            .unwrap()["confidence"]
            .clone()
    };
    for (id, confidence) in [
        ("4b000000-0000-4000-8000-000000000001", json!(0.875)), // 87.5
        ("4b000000-0000-4000-8000-000000000002", json!(1.0)),   // 100
        ("4b000000-0000-4000-8000-000000000003", json!(0.0)),
        ("4b000000-0000-4000-8000-000000000004", Value::Null),
        ("4b000000-0000-4000-8000-000000000005", Value::Null), // 150
        ("4b000000-0000-4000-8000-000000000006", Value::Null), // -0.25
        ("4b000000-0000-4000-8000-000000000007", Value::Null), // NaN
        ("4b000000-0000-4000-8000-000000000008", json!(0.934)),
    ] {
        assert_eq!(served(id), confidence, "{id}");
    }
    let archived: Vec<String> = sqlx::query_scalar(
        "select confidence::text from fastapi_legacy.history where user_id = $1 \
         and confidence is not null order by id",
    )
    .bind(BEN.parse::<uuid::Uuid>().unwrap())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        archived,
        ["87.5", "100", "0", "150", "-0.25", "NaN", "0.934", "0.8"]
    );
}

#[tokio::test]
async fn text_over_the_limits_is_served_whole_and_only_what_a_client_writes_must_fit() {
    let (app, _pool) = migrated().await;
    let (ada, ben) = (token(&app, ADA), token(&app, BEN));
    let long_name = app.get_json_as("/api/v1/users/me", &ada).await["display_name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(long_name.chars().count(), 120);
    // Writes that leave the name alone keep it: a profile change, a favorite (whose
    // change number is kept on the profile's row).
    let avatar = json!({"avatar_url": "https://cdn.example.com/a/ada-2.png"});
    let changed = app.update_me(&ada, avatar).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(app.add_favorite(&ada, "chest_press").await.status(), 201);
    let me = app.get_json_as("/api/v1/users/me", &ada).await;
    assert_eq!(me["display_name"], json!(long_name));
    // Writing a name: it must fit.
    let refused = app
        .update_me(&ada, json!({"display_name": "x".repeat(101)}))
        .await;
    assert_error(refused, 422, "validation_error").await;

    let note = |favorites: &Value| {
        favorites["favorites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["machine_id"] == "lat_pulldown")
            .unwrap()["notes"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let whole = note(&app.get_json_as(FAVORITES, &ben).await);
    assert_eq!(whole.chars().count(), 1500);
    assert_eq!(app.add_favorite(&ben, "chest_press").await.status(), 201);
    let too_long = json!({"notes": "y".repeat(1001)});
    let refused = app.update_favorite(&ben, "lat_pulldown", too_long).await;
    assert_error(refused, 422, "validation_error").await;
    assert_eq!(note(&app.get_json_as(FAVORITES, &ben).await), whole);
    let history = app
        .get_json_as(&format!("{HISTORY}?page_size=100"), &ben)
        .await;
    let entry = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "4b000000-0000-4000-8000-000000000008")
        .unwrap()
        .clone();
    assert_eq!(entry["source"].as_str().unwrap().chars().count(), 64);
    assert_eq!(entry["photo_uri"].as_str().unwrap().chars().count(), 2119);
}

#[tokio::test]
async fn timestamps_keep_their_microseconds_through_the_cutover() {
    let (app, _pool) = migrated().await;
    let ada = app.get_json_as("/api/v1/users/me", &token(&app, ADA)).await;
    assert_eq!(
        (&ada["created_at"], &ada["updated_at"]),
        (
            &json!("2024-01-02T03:04:05.223456Z"),
            &json!("2024-01-02T03:04:05.323456Z")
        )
    );
    // Ben has favorites and history: their change numbers are kept on his profile's row,
    // which must not make the cutover's moment his profile's `updated_at`.
    let ben = app.get_json_as("/api/v1/users/me", &token(&app, BEN)).await;
    assert_eq!(ben["updated_at"], "2025-11-30T23:59:59.999999Z");
    let history = app
        .get_json_as(&format!("{HISTORY}?page_size=100"), &token(&app, BEN))
        .await;
    let first = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "4b000000-0000-4000-8000-000000000001")
        .unwrap()
        .clone();
    assert_eq!(
        (&first["taken_at"], &first["created_at"]),
        (
            &json!("2025-03-05T17:00:00.000001Z"),
            &json!("2025-03-05T17:00:00.100001Z")
        )
    );
}

#[tokio::test]
async fn migrate_check_names_each_class_of_row_and_the_time_it_took() {
    let (name, _pool) = Fixture::Live.database().await;
    let output = run("migrate --check", &name);
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}");
    for (class, count) in [
        ("machine the catalog lacks", 2),
        ("notes over 1000 characters", 1),
        ("user without an account", 1),
        ("confidence a percentage (above 1, at most 100)", 2),
        ("confidence below 0, above 100 or NaN", 3),
        ("machine id no catalog may hold", 1),
        ("photo URI over 2048 characters", 1),
        ("source not 1 to 50 characters", 2),
        ("a user photo outside its owner's folder", 1),
        ("path starting with its bucket's name", 1),
        ("display name over 100 characters", 1),
    ] {
        assert!(
            said.lines()
                .any(|l| l.contains(class) && l.split_whitespace().any(|w| w == count.to_string())),
            "--check names {class:?} with {count}: {said}"
        );
    }
    // Printed for the record (the closing note of the cutover quotes it).
    eprintln!("{said}");
}
