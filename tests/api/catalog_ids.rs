//! A database that an earlier release filled, with the catalog under its own ids, moves to
//! the shipped app's ids (migration 20261203000000) with everything that points at them.

use machinemate_api::db::migrate;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{database_url, empty_database};

/// The last migration before the catalog took the app's ids.
const BEFORE_APP_IDS: i64 = 20261122020000;

async fn rows(pool: &PgPool, sql: &str) -> Value {
    let json: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select coalesce(json_agg(r), '[]') from ({sql}) r"
    )))
    .fetch_one(pool)
    .await
    .unwrap();
    json.unwrap()
}

#[tokio::test]
async fn earlier_catalog_ids_move_to_the_apps_ids_with_everything_that_points_at_them() {
    let pool = PgPool::connect(&database_url(&empty_database().await))
        .await
        .unwrap();
    migrate::apply_local_bootstrap(&pool).await.unwrap();
    migrate::migrator()
        .run_to(BEFORE_APP_IDS, &pool)
        .await
        .unwrap();
    // The earlier release's ids and lowercase difficulties, and a user's rows on them.
    sqlx::raw_sql(
        "insert into public.machines (id, name, category, difficulty, primary_muscles, equipment_type, \
           setup_steps, how_to_steps, common_mistakes, safety_tips, beginner_tips) \
         select id, name, 'Cardio', difficulty, '{x}', 'cardio', '{x}', '{x}', '{}', '{x}', '{}' \
         from (values ('elliptical', 'Elliptical', 'beginner'), \
                      ('indoor_cycling_bike', 'Indoor Cycling Bike', 'beginner'), \
                      ('exercise_bike', 'Exercise Bike', 'beginner'), \
                      ('leg_curl', 'Seated Leg Curl', 'beginner'), \
                      ('lying_leg_curl', 'Lying Leg Curl', 'beginner'), \
                      ('air_bike', 'Air Bike', 'intermediate')) v (id, name, difficulty); \
         insert into auth.users (id, email) values ('5e1f5a3e-0000-4000-8000-000000000001', 'a@example.com'); \
         insert into public.favorites (user_id, machine_id, notes) values \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'elliptical', 'slow days'), \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'indoor_cycling_bike', 'spin class'), \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'exercise_bike', null); \
         insert into public.history (user_id, machine_id, confidence, taken_at) values \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'indoor_cycling_bike', 0.5, '2026-01-01T00:00:00Z'), \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'leg_curl', 0.9, '2026-01-02T00:00:00Z'), \
           ('5e1f5a3e-0000-4000-8000-000000000001', 'lying_leg_curl', 0.8, '2026-01-03T00:00:00Z'); \
         insert into public.identification_events (trace_id, user_id, machine_id, machine_name, confidence) \
           values ('t1', '5e1f5a3e-0000-4000-8000-000000000001', 'leg_curl', 'Seated Leg Curl', 0.9); \
         insert into public.identification_corrections (trace_id, user_id, machine_id) \
           values ('t1', '5e1f5a3e-0000-4000-8000-000000000001', 'lying_leg_curl'); \
         insert into public.machine_audit (machine_id, action, actor_role) values ('elliptical', 'update', 'admin');",
    )
    .execute(&pool)
    .await
    .unwrap();
    let version_before: i64 = sqlx::query_scalar("select sync_version from users")
        .fetch_one(&pool)
        .await
        .unwrap();

    migrate::run_migrations(&pool).await.unwrap();

    assert_eq!(
        rows(
            &pool,
            "select id, name, difficulty from machines order by id"
        )
        .await,
        json!([
            {"id": "air_bike", "name": "Air Bike", "difficulty": "Intermediate"},
            {"id": "elliptical_machine", "name": "Elliptical Machine", "difficulty": "Beginner"},
            {"id": "exercise_bike", "name": "Exercise Bike", "difficulty": "Beginner"},
            {"id": "leg_curl_machine", "name": "Leg Curl Machine", "difficulty": "Beginner"},
            {"id": "seated_leg_curl", "name": "Seated Leg Curl Machine", "difficulty": "Beginner"},
        ]),
        "renamed to the app's ids and names; the spin bike merged into the exercise bike"
    );
    assert_eq!(
        rows(
            &pool,
            "select machine_id, notes from favorites order by machine_id"
        )
        .await,
        json!([
            {"machine_id": "elliptical_machine", "notes": "slow days"},
            {"machine_id": "exercise_bike", "notes": "spin class"},
        ]),
        "one favorite per machine, notes kept"
    );
    assert_eq!(
        rows(
            &pool,
            "select machine_id, confidence from history order by taken_at"
        )
        .await,
        json!([
            {"machine_id": "exercise_bike", "confidence": 0.5},
            {"machine_id": "seated_leg_curl", "confidence": 0.9},
            {"machine_id": "leg_curl_machine", "confidence": 0.8},
        ])
    );
    assert_eq!(
        rows(
            &pool,
            "select e.machine_id as predicted, c.machine_id as corrected \
             from identification_events e join identification_corrections c using (trace_id)"
        )
        .await,
        json!([{"predicted": "seated_leg_curl", "corrected": "leg_curl_machine"}])
    );
    assert_eq!(
        rows(&pool, "select machine_id from machine_audit").await,
        json!([{"machine_id": "elliptical_machine"}])
    );
    // An offline client learns that the favorites under the old ids are gone.
    let tombstones = rows(
        &pool,
        &format!(
            "select entity_id from sync_tombstones where entity = 'favorite' \
             and sync_version > {version_before} order by entity_id"
        ),
    )
    .await;
    assert_eq!(
        tombstones,
        json!([{"entity_id": "elliptical"}, {"entity_id": "indoor_cycling_bike"}])
    );

    // The seed then fills in the catalog without a second id or name for any machine.
    migrate::seed_catalog(&pool).await.unwrap();
    let counts: (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(distinct id), count(distinct lower(name)) from machines",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (49, 49, 49));
}
