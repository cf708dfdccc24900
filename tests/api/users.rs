//! Account routes: profile, update, export, deletion.

use machinemate_api::routes::users::UserProfile;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ME, TestApp, account_deleted, answer, assert_error};

async fn signed_in() -> (TestApp, Uuid, String) {
    let app = TestApp::builder().auth().spawn().await;
    let (user, token) = app.sign_up_and_in().await;
    (app, user, token)
}

#[tokio::test]
async fn the_profile_is_read_and_updated() {
    let (app, user, token) = signed_in().await;
    let me: UserProfile = answer(app.get_as(ME, &token).await, 200).await;
    assert_eq!(me.id, user);
    assert!(me.email.unwrap().ends_with("@example.com"));
    assert_eq!(me.preferences, json!({}));

    let response = app
        .update_me(
            &token,
            json!({"display_name": "  Ada  ", "avatar_url": "https://cdn.example/a.png", "preferences": {"units": "kg"}}),
        )
        .await;
    let me: UserProfile = answer(response, 200).await;
    assert_eq!(me.display_name.as_deref(), Some("Ada"));
    assert_eq!(me.avatar_url.as_deref(), Some("https://cdn.example/a.png"));
    assert_eq!(me.preferences, json!({"units": "kg"}));

    // Absent fields stay; null clears.
    let me: UserProfile = answer(
        app.update_me(&token, json!({"avatar_url": null})).await,
        200,
    )
    .await;
    assert_eq!(me.display_name.as_deref(), Some("Ada"));
    assert_eq!(me.avatar_url, None);
    assert_eq!(me.preferences, json!({"units": "kg"}));
}

#[tokio::test]
async fn invalid_updates_answer_422_413_or_415_in_the_envelope() {
    let (app, _user, token) = signed_in().await;
    for (body, field, kind) in [
        (json!({"display_name": ""}), "display_name", "string_type"),
        (
            json!({"display_name": "x".repeat(101)}),
            "display_name",
            "string_type",
        ),
        (
            json!({"avatar_url": "javascript:alert(1)"}),
            "avatar_url",
            "url_parsing",
        ),
        (json!({"preferences": [1, 2]}), "preferences", "dict_type"),
        (
            json!({"preferences": {"blob": "x".repeat(17 * 1024)}}),
            "preferences",
            "too_long",
        ),
        (json!({"is_admin": true}), "is_admin", "extra_forbidden"),
        (json!({"display_name": 5}), "display_name", "type_error"),
    ] {
        let detail = assert_error(
            app.update_me(&token, body.clone()).await,
            422,
            "validation_error",
        )
        .await
        .detail;
        assert_eq!(detail[0]["loc"], json!(["body", field]), "{body}");
        assert_eq!(detail[0]["type"], kind, "{body}");
    }

    let malformed = app
        .request(Method::PATCH, ME, &token)
        .header("content-type", "application/json")
        .body(r#"{"display_name": "#)
        .send()
        .await
        .unwrap();
    let detail = assert_error(malformed, 422, "validation_error")
        .await
        .detail;
    assert_eq!(detail[0]["type"], "json_invalid");

    let text = app
        .request(Method::PATCH, ME, &token)
        .header("content-type", "text/plain")
        .body("display_name=Ada")
        .send()
        .await
        .unwrap();
    assert_error(text, 415, "unsupported_media_type").await;

    let huge = format!(r#"{{"display_name": "{}"}}"#, "x".repeat(300 * 1024));
    let response = app
        .request(Method::PATCH, ME, &token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_user_the_sign_up_trigger_missed_gets_a_profile_on_first_use() {
    let app = TestApp::builder().auth().spawn().await;
    let user = Uuid::new_v4();
    // Signed up with triggers off: as if the sign-up trigger had never run.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("insert into auth.users (id, email) values ($1, 'missed@example.com')")
        .bind(user)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let token = app.token_for(user);
    let response = app.get_as(ME, &token).await;
    assert_eq!(response.status(), 200);
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from public.users where id = $1)")
            .bind(user)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(exists);
}

/// Gives `user` one row in every table that holds user data.
async fn populate(app: &TestApp, user: Uuid) {
    let trace = Uuid::new_v4().simple().to_string();
    for sql in [
        "insert into favorites (user_id, machine_id, notes) values ($1, 'leg_press', 'heavy')",
        "insert into history (user_id, machine_id, confidence) values ($1, 'treadmill', 0.93)",
        "insert into media_assets (owner_id, bucket, path, asset_type, content_type, size_bytes) \
           values ($1, 'user-uploads', $1::text || '/photo.jpg', 'user_photo', 'image/jpeg', 1000)",
    ] {
        sqlx::query(sql).bind(user).execute(&app.db).await.unwrap();
    }
    sqlx::query(
        "insert into identification_events (trace_id, user_id, machine_id, machine_name, confidence) \
         values ($2, $1, 'leg_press', 'Leg Press', 0.9)",
    )
    .bind(user)
    .bind(&trace)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("insert into identification_corrections (trace_id, user_id, machine_id) values ($2, $1, 'hack_squat_machine')")
        .bind(user)
        .bind(&trace)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn rows_of(app: &TestApp, user: Uuid) -> i64 {
    sqlx::query_scalar(
        "select (select count(*) from users where id = $1) + (select count(*) from favorites where user_id = $1) \
              + (select count(*) from history where user_id = $1) \
              + (select count(*) from media_assets where owner_id = $1) \
              + (select count(*) from identification_events where user_id = $1) \
              + (select count(*) from identification_corrections where user_id = $1)",
    )
    .bind(user)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_export_holds_everything_about_the_caller_and_nothing_else() {
    let (app, user, token) = signed_in().await;
    let other = app.sign_up().await;
    populate(&app, user).await;
    populate(&app, other).await;
    let response = app.get_as(&format!("{ME}/export"), &token).await;
    assert_eq!(response.status(), 200);
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["user"]["id"], user.to_string());
    for section in [
        "favorites",
        "history",
        "identifications",
        "identification_corrections",
        "media_assets",
    ] {
        let rows = export[section]
            .as_array()
            .unwrap_or_else(|| panic!("{section}"));
        assert_eq!(rows.len(), 1, "{section}: {rows:?}");
    }
    assert!(!export.to_string().contains(&other.to_string()));
}

#[tokio::test]
async fn the_export_writes_times_in_utc_with_a_z_as_every_other_answer() {
    let (app, user, token) = signed_in().await;
    populate(&app, user).await;
    let export: Value = app
        .get_as(&format!("{ME}/export"), &token)
        .await
        .json()
        .await
        .unwrap();
    let mut times = vec![export["exported_at"].clone()];
    let rows = ["favorites", "history", "identifications", "media_assets"]
        .into_iter()
        .flat_map(|section| export[section].as_array().unwrap().clone());
    for row in rows.chain([export["user"].clone()]) {
        let object = row.as_object().unwrap().clone();
        times.extend(
            object
                .into_iter()
                .filter(|(key, value)| key.ends_with("_at") && value.is_string())
                .map(|(_, value)| value),
        );
    }
    assert!(times.len() >= 8, "{times:?}");
    for time in &times {
        let text = time.as_str().unwrap();
        assert!(text.ends_with('Z'), "{text} in {export}");
        assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
    }
}

#[tokio::test]
async fn deleting_the_account_leaves_no_rows_of_the_user_behind() {
    let (app, user, token) = signed_in().await;
    let other = app.sign_up().await;
    populate(&app, user).await;
    populate(&app, other).await;
    assert_eq!(rows_of(&app, user).await, 6);

    let response = app.delete_me(&token).await;
    assert_eq!(
        account_deleted(response).await,
        (1, false),
        "no service-role key here"
    );
    assert_eq!(rows_of(&app, user).await, 0);
    assert_eq!(
        rows_of(&app, other).await,
        6,
        "another user's data was touched"
    );
}

#[tokio::test]
async fn deleting_the_account_deletes_the_sign_in_too_and_a_failed_attempt_is_finished_by_a_retry()
{
    let app = TestApp::builder().auth_admin_api().spawn().await;
    let auth = app.auth();
    let (user, token) = app.sign_up_and_in().await;
    let favorite = app.add_favorite(&token, "leg_press").await;
    assert_eq!(favorite.status(), 201);

    // Supabase Auth fails: the data is gone, the answer says the sign-in is not.
    auth.set_admin_failing(true);
    let failed = app.delete_me(&token).await;
    let detail = assert_error(failed, 503, "service_unavailable")
        .await
        .detail;
    assert!(detail.as_str().unwrap().contains("call again"), "{detail}");
    assert_eq!(rows_of(&app, user).await, 0);
    assert!(auth.deleted_users().is_empty());

    // The retry finishes the job; another finds nothing left to do.
    auth.set_admin_failing(false);
    let retried = app.delete_me(&token).await;
    assert!(account_deleted(retried).await.1, "the sign-in is deleted");
    assert_eq!(auth.deleted_users(), vec![user]);
    let again = app.delete_me(&token).await;
    assert!(
        account_deleted(again).await.1,
        "already gone counts as deleted"
    );
    assert_eq!(rows_of(&app, user).await, 0);
}
