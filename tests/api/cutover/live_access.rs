//! On the live database: who reaches what after the cutover (photos, an account's
//! deletion), and what a rollback gives back to the app's own calls.

use serde_json::json;

use super::live::{migrated, token};
use super::live_users::{ADA, BEN, DEE, FAY, GONE};
use super::readback::{fetched, store_legacy_photos};
use super::rows;
use crate::helpers::assert_error;

const ROLLBACK: &str = include_str!("../../../supabase/cutover/rollback_to_fastapi.sql");

#[tokio::test]
async fn every_photo_the_old_backend_stored_is_reachable_by_its_owner_and_no_one_else() {
    let (app, pool) = migrated().await;
    store_legacy_photos(&app, &pool, "fastapi_legacy").await;
    let (dee, ben, ada) = (token(&app, DEE), token(&app, BEN), token(&app, ADA));
    let media = app.get_json_as("/api/v1/media?page_size=100", &dee).await;
    let assets = media["assets"].as_array().unwrap();
    let mut paths: Vec<&str> = assets.iter().map(|a| a["path"].as_str().unwrap()).collect();
    paths.sort();
    let dee_folder = |name: &str| format!("{DEE}/{name}");
    let mut expected = [
        "1e000000-0000-4000-8000-000000000001.jpg",
        "1e000000-0000-4000-8000-000000000002.JPG",
        "1e000000-0000-4000-8000-000000000003.jpeg",
        "1e000000-0000-4000-8000-000000000004.heic",
        "1e000000-0000-4000-8000-000000000005",
        "1e000000-0000-4000-8000-000000000006.png",
        "camera/IMG_0042.JPG",
    ]
    .map(dee_folder);
    expected.sort();
    assert_eq!(paths, expected);
    for asset in assets {
        let url_path = format!("/api/v1/media/{}/url", asset["id"].as_str().unwrap());
        let url = app.get_json_as(&url_path, &dee).await;
        assert_eq!(
            fetched(&url).await,
            format!("the bytes of {}", asset["path"].as_str().unwrap())
        );
        for other in [&ben, &ada] {
            assert_error(app.get_as(&url_path, other).await, 404, "not_found").await;
        }
    }
    // Recorded for Ada under Dee's folder: Ada's record cannot reach Dee's file.
    let adas = app.get_json_as("/api/v1/media", &ada).await;
    assert_eq!(adas["total"], 0, "{adas}");
}

#[tokio::test]
async fn a_rollback_gives_back_the_grants_the_app_used_and_a_confidence_at_full_precision() {
    let (app, pool) = migrated().await;
    let added = app
        .add_history(
            &token(&app, FAY),
            json!({"machine_id": "treadmill", "confidence": 0.934}),
        )
        .await;
    assert_eq!(added.status(), 201);
    sqlx::raw_sql(ROLLBACK).execute(&pool).await.unwrap();

    let confidence: String = sqlx::query_scalar(
        "select confidence::text from public.history where user_id = $1 and machine_id = 'treadmill'",
    )
    .bind(FAY.parse::<uuid::Uuid>().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(confidence, "0.934", "the old column is unbounded");
    // As the app called them through Supabase's Data API.
    for role in ["anon", "authenticated"] {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("set local role {role}")))
            .execute(&mut *tx)
            .await
            .unwrap();
        let trace = format!("rolled-back-{role}");
        sqlx::query(
            "select public.record_identification_event($1, null, 'Treadmill', 0.9, 'few_shot')",
        )
        .bind(&trace)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{role}: record_identification_event: {e}"));
        sqlx::query("select public.record_identification_correction($1, null, 'treadmill')")
            .bind(&trace)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{role}: record_identification_correction: {e}"));
        for view in ["prompt_variant_analytics", "daily_identification_stats"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("select * from public.{view}")))
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{role}: {view}: {e}"));
        }
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn deleting_an_account_deletes_its_archived_rows_although_no_foreign_key_cascades() {
    let (app, pool) = migrated().await;
    assert_eq!(app.delete_me(&token(&app, BEN)).await.status(), 200);
    let left = rows(
        &pool,
        &format!(
            "select (select count(*) from fastapi_legacy.users where id = '{BEN}') as users, \
                    (select count(*) from fastapi_legacy.favorites where user_id = '{BEN}') as favorites, \
                    (select count(*) from fastapi_legacy.history where user_id = '{BEN}') as history, \
                    (select count(*) from fastapi_legacy.history where user_id = '{GONE}') as no_account"
        ),
    )
    .await;
    assert_eq!(
        left,
        vec![json!({"users": 0, "favorites": 0, "history": 0, "no_account": 1})]
    );
}
