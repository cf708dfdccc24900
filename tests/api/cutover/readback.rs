//! Every archived row read back through the API as its owner, compared with what the
//! FastAPI backend stored: favorites, history entries, profiles, photos (their bytes,
//! through a signed URL from the S3 stand-in), identifications. The expectations are
//! derived here from the archive by the documented rules, not read from the new tables.

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::rows;
use crate::helpers::TestApp;

/// A machine id this service's catalog may hold (`MachineId`).
fn is_machine_id(id: &str) -> bool {
    let mut chars = id.chars();
    (2..=63).contains(&id.len())
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The confidence served for an archived one: a fraction as is, a percentage (above 1, at
/// most 100) divided by 100, anything else (negative, above 100, NaN) none.
fn served_confidence(stored: &Value) -> Option<f64> {
    let c = stored.as_f64()?;
    if (0.0..=1.0).contains(&c) {
        Some(c)
    } else if c > 1.0 && c <= 100.0 {
        Some(c / 100.0)
    } else {
        None
    }
}

fn instant(value: &Value) -> Option<DateTime<FixedOffset>> {
    value
        .as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).unwrap())
}

/// The key of a user photo inside `user-uploads`, as the archive records it.
fn key_in_bucket(row: &Value) -> String {
    let bucket = row["bucket_name"].as_str().unwrap();
    let path = row["storage_path"].as_str().unwrap();
    path.strip_prefix(&format!("{bucket}/"))
        .unwrap_or(path)
        .to_owned()
}

/// What the archive holds for the users with a Supabase Auth account.
pub async fn account_holders(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select id::text from auth.users order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Puts a file in the S3 stand-in for every user photo the archive records, with bytes of
/// its own, as the FastAPI backend's uploads left them.
pub async fn store_legacy_photos(app: &TestApp, pool: &PgPool, schema: &str) {
    let photos = rows(
        pool,
        &format!("select * from {schema}.media_assets where bucket_name = 'user-uploads'"),
    )
    .await;
    for photo in photos {
        let key = key_in_bucket(&photo);
        let file = app.storage().root.join("user-uploads").join(&key);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("the bytes of {key}")).unwrap();
    }
}

/// What the signed URL of a `GET /api/v1/media/{id}/url` answer reads from storage.
pub async fn fetched(answer: &Value) -> String {
    let url = answer["url"].as_str().unwrap();
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// Reads every row of `user` back through the API and compares it with the archive.
pub async fn assert_read_back(app: &TestApp, pool: &PgPool, user: &str) {
    let token = app.token_for(user.parse().unwrap());
    let get = async |path: &str| -> Value { app.get_json_as(path, &token).await };

    let favorites = get("/api/v1/favorites").await;
    let archived: Vec<Value> = rows(
        pool,
        &format!(
            "select * from fastapi_legacy.favorites where user_id = '{user}' order by created_at desc, machine_id"
        ),
    )
    .await
    .into_iter()
    .filter(|f| is_machine_id(f["machine_id"].as_str().unwrap()))
    .collect();
    let served = favorites["favorites"].as_array().unwrap();
    assert_eq!(
        served.len(),
        archived.len(),
        "{user}: favorites {favorites}"
    );
    for (item, row) in served.iter().zip(&archived) {
        assert_eq!(
            (&item["machine_id"], &item["notes"], &item["machine"]["id"]),
            (&row["machine_id"], &row["notes"], &row["machine_id"]),
            "{user}: favorite"
        );
        assert_eq!(instant(&item["created_at"]), instant(&row["created_at"]));
    }

    let history = get("/api/v1/history?page_size=100").await;
    let archived: Vec<Value> = rows(
        pool,
        &format!(
            "select * from fastapi_legacy.history where user_id = '{user}' order by taken_at desc, id"
        ),
    )
    .await
    .into_iter()
    .filter(|h| is_machine_id(h["machine_id"].as_str().unwrap()))
    .collect();
    let served = history["history"].as_array().unwrap();
    assert_eq!(served.len(), archived.len(), "{user}: history {history}");
    for (item, row) in served.iter().zip(&archived) {
        assert_eq!(
            (
                &item["id"],
                &item["machine_id"],
                &item["source"],
                &item["photo_uri"]
            ),
            (
                &row["id"],
                &row["machine_id"],
                &row["source"],
                &row["photo_uri"]
            ),
            "{user}: history entry"
        );
        assert_eq!(item["machine"]["id"], row["machine_id"]);
        let (got, want) = (
            item["confidence"].as_f64(),
            served_confidence(&row["confidence"]),
        );
        assert!(
            got.zip(want).is_some_and(|(g, w)| (g - w).abs() < 1e-6) || (got, want) == (None, None),
            "{user}: entry {} has confidence {got:?} for a stored {}",
            row["id"],
            row["confidence"]
        );
        for at in ["taken_at", "created_at"] {
            assert_eq!(instant(&item[at]), instant(&row[at]), "{user}: {at}");
        }
    }

    let profile = get("/api/v1/users/me").await;
    if let Some(row) = rows(
        pool,
        &format!("select * from fastapi_legacy.users where id = '{user}'"),
    )
    .await
    .first()
    {
        let preferences = if row["preferences"].is_object() {
            row["preferences"].clone()
        } else {
            json!({})
        };
        assert_eq!(
            (
                &profile["email"],
                &profile["display_name"],
                &profile["avatar_url"],
                &profile["preferences"]
            ),
            (
                &row["email"],
                &row["display_name"],
                &row["avatar_url"],
                &preferences
            ),
            "{user}: profile"
        );
        for at in ["created_at", "updated_at"] {
            assert_eq!(instant(&profile[at]), instant(&row[at]), "{user}: {at}");
        }
    }

    let media = get("/api/v1/media?page_size=100").await;
    let photos: Vec<Value> = rows(
        pool,
        &format!(
            "select * from fastapi_legacy.media_assets where user_id = '{user}' order by created_at desc, id"
        ),
    )
    .await
    .into_iter()
    .filter(|p| key_in_bucket(p).starts_with(&format!("{user}/")))
    .collect();
    let assets = media["assets"].as_array().unwrap();
    assert_eq!(assets.len(), photos.len(), "{user}: media {media}");
    for (asset, photo) in assets.iter().zip(&photos) {
        let key = key_in_bucket(photo);
        assert_eq!(asset["path"], json!(key), "{user}: photo path");
        let url = get(&format!(
            "/api/v1/media/{}/url",
            asset["id"].as_str().unwrap()
        ))
        .await;
        assert_eq!(
            fetched(&url).await,
            format!("the bytes of {key}"),
            "{user}: {key}"
        );
    }

    for event in rows(
        pool,
        &format!("select * from fastapi_legacy.identification_events where user_id = '{user}'"),
    )
    .await
    {
        let trace = get(&format!("/traces/{}", event["trace_id"].as_str().unwrap())).await;
        assert_eq!(
            trace["machine"], event["machine_predicted"],
            "{user}: trace"
        );
    }
}
