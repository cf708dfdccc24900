//! Catalog changes made on one instance, seen by the others.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster;
use crate::helpers::TestApp;

#[tokio::test]
async fn an_admin_change_reaches_all_three_instances_within_the_freshness_bound() {
    let c = cluster(TestApp::builder()).await;
    let admin = c.apps[0].admin_token().await;
    let path = "/api/v1/machines/treadmill";
    let list = "/api/v1/machines?category=Cardio&page_size=100";
    // A user whose favorites and history embed the treadmill.
    let (_, user) = c.apps[0].sign_up_and_in().await;
    add_favorite_and_history(c.at(0), &user, "treadmill").await;
    // Every instance has the catalog cached.
    for app in &c.apps {
        assert_eq!(app.get_json(path, 200).await["difficulty"], "Beginner");
        app.get_json(list, 200).await;
        assert_eq!(
            embedded(app, &user, "treadmill").await,
            ["Beginner", "Beginner"]
        );
    }

    let response = c.apps[1]
        .update_machine(&admin, "treadmill", json!({"difficulty": "Advanced"}))
        .await;
    assert_eq!(response.status(), 200);
    let changed = Instant::now();

    // CATALOG_MAX_STALENESS_MS is 1000 by default; allow the poll interval on top.
    let bound = Duration::from_millis(1000 + 300);
    let mut seen = [None; 3];
    while seen.iter().any(Option::is_none) {
        for (i, app) in c.apps.iter().enumerate() {
            if seen[i].is_none() {
                let machine = app.get_json(path, 200).await;
                let listed = app.get_json(list, 200).await;
                let in_list = listed["machines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["id"] == "treadmill")
                    .unwrap()["difficulty"]
                    .clone();
                if machine["difficulty"] == "Advanced" {
                    assert_eq!(
                        in_list, "Advanced",
                        "instance {i}: one version for every page"
                    );
                    assert_eq!(
                        embedded(app, &user, "treadmill").await,
                        ["Advanced", "Advanced"],
                        "instance {i}: favorites and history embed the same version"
                    );
                    seen[i] = Some(changed.elapsed());
                }
            }
        }
        assert!(changed.elapsed() < bound, "stale past the bound: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen[1].unwrap() < Duration::from_millis(300),
        "the writing instance at once"
    );
}

#[tokio::test]
async fn a_machine_created_on_one_instance_is_embedded_at_once_by_another() {
    // Instances re-read the catalog version only once a minute here, so instance 2
    // cannot learn of the new machine that way during the test.
    let c = cluster(TestApp::builder().env(("CATALOG_MAX_STALENESS_MS", "60000"))).await;
    let admin = c.apps[0].admin_token().await;
    let (_, user) = c.apps[0].sign_up_and_in().await;
    // Instance 2 holds the catalog as it was before the new machine.
    add_favorite_and_history(c.at(2), &user, "leg_press").await;
    assert_eq!(
        embedded(c.at(2), &user, "leg_press").await,
        ["Beginner", "Beginner"]
    );

    let created = c.apps[0]
        .add_machine(&admin, &json!({
            "id": "nordic_curl_bench", "name": "Nordic Curl Bench", "category": "Lower Body",
            "difficulty": "Intermediate", "equipment_type": "plate_loaded",
            "primary_muscles": ["hamstrings"], "secondary_muscles": ["glutes"],
            "setup_steps": ["Kneel on the pad.", "Hook your heels under the roller.", "Set the roller snug on your ankles.", "Cross your arms over your chest."],
            "how_to_steps": ["Lower your body forward slowly.", "Keep hips and shoulders in line.", "Catch yourself with your hands.", "Pull back up with your hamstrings."],
            "common_mistakes": ["Bending at the hips."], "safety_tips": ["Check the roller is locked."],
            "beginner_tips": ["Use a band for help."], "tags": ["hamstrings"],
            "synonyms": ["nordic hamstring bench"], "visual_cues": ["kneeling pad with an ankle roller"]
        }))
        .await;
    assert_eq!(created.status(), 201);
    // Without waiting for instance 2 to re-read the catalog version: the machine it does
    // not know yet is read with the user's rows.
    add_favorite_and_history(c.at(2), &user, "nordic_curl_bench").await;
    assert_eq!(
        embedded(c.at(2), &user, "nordic_curl_bench").await,
        ["Intermediate", "Intermediate"]
    );
    assert_eq!(
        embedded(c.at(2), &user, "leg_press").await,
        ["Beginner", "Beginner"]
    );
}
/// Favorites `machine_id` and records it in history, on `app`.
async fn add_favorite_and_history(app: &TestApp, token: &str, machine_id: &str) {
    let favorite = app.add_favorite(token, machine_id).await;
    assert_eq!(favorite.status(), 201, "POST /api/v1/favorites");
    let entry = app
        .add_history(token, json!({"machine_id": machine_id}))
        .await;
    assert_eq!(entry.status(), 201, "POST /api/v1/history");
}

/// The difficulty of `machine_id` as embedded in the caller's favorites list and
/// history page, read from `app`.
async fn embedded(app: &TestApp, token: &str, machine_id: &str) -> [Value; 2] {
    let mut found = [Value::Null, Value::Null];
    for (i, (path, field)) in [
        ("/api/v1/favorites", "favorites"),
        ("/api/v1/history", "history"),
    ]
    .into_iter()
    .enumerate()
    {
        let response = app.get_as(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let body: Value = response.json().await.unwrap();
        let item = body[field]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["machine_id"] == machine_id)
            .unwrap_or_else(|| panic!("{machine_id} missing from {path}: {body}"));
        assert_eq!(item["machine"]["id"], machine_id);
        found[i] = item["machine"]["difficulty"].clone();
    }
    found
}
