use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

fn names(body: &Value) -> Vec<String> {
    body["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn active_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from machines where is_active")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_catalog_lists_machines_by_name_with_contract_defaults() {
    let app = TestApp::builder().spawn().await;
    let body = app.get_json("/api/v1/machines", 200).await;
    assert_eq!(body["page"], 1);
    assert_eq!(body["page_size"], 20);
    assert!(body["total"].as_i64().unwrap() >= 40, "{}", body["total"]);
    assert_eq!(body["total"].as_i64().unwrap(), active_count(&app).await);
    let names = names(&body);
    assert_eq!(names.len(), 20);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let machine = &body["machines"][0];
    for field in [
        "id",
        "name",
        "category",
        "difficulty",
        "primary_muscles",
        "secondary_muscles",
        "equipment_type",
        "setup_steps",
        "how_to_steps",
        "common_mistakes",
        "safety_tips",
        "beginner_tips",
        "thumbnail_url",
        "image_url",
        "video_url",
        "muscle_diagram_url",
        "tags",
        "metadata",
        "is_active",
        "created_at",
        "updated_at",
    ] {
        assert!(machine.get(field).is_some(), "missing {field}");
    }
    let created = machine["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
}

#[tokio::test]
async fn pages_walk_the_whole_catalog_without_overlap() {
    let app = TestApp::builder().spawn().await;
    let total = active_count(&app).await;
    let mut seen = Vec::new();
    for page in 1.. {
        let body = app
            .get_json(&format!("/api/v1/machines?page={page}&page_size=7"), 200)
            .await;
        assert_eq!(body["total"].as_i64().unwrap(), total);
        let names = names(&body);
        if names.is_empty() {
            break;
        }
        seen.extend(names);
    }
    assert_eq!(seen.len() as i64, total);
    seen.dedup();
    assert_eq!(seen.len() as i64, total);
}

#[tokio::test]
async fn page_size_bounds_are_enforced() {
    let app = TestApp::builder().spawn().await;
    for (query, kind) in [
        ("page_size=101", "less_than_equal"),
        ("page_size=0", "greater_than_equal"),
        ("page=0", "greater_than_equal"),
    ] {
        let response = app.get(&format!("/api/v1/machines?{query}")).await;
        let detail = assert_error(response, 422, "validation_error").await.detail;
        assert_eq!(detail[0]["type"], kind, "{query}");
    }
    let body = app.get_json("/api/v1/machines?page_size=100", 200).await;
    assert_eq!(body["page_size"], 100);
    assert_eq!(names(&body).len() as i64, active_count(&app).await.min(100));
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let app = TestApp::builder().spawn().await;

    let body = app
        .get_json("/api/v1/machines?category=Cardio&page_size=100", 200)
        .await;
    let machines = body["machines"].as_array().unwrap();
    assert!(!machines.is_empty());
    assert!(machines.iter().all(|m| m["category"] == "Cardio"));
    assert_eq!(body["total"].as_u64().unwrap() as usize, machines.len());

    let body = app
        .get_json("/api/v1/machines?difficulty=advanced&page_size=100", 200)
        .await;
    assert!(
        body["machines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["difficulty"] == "Advanced")
    );

    let body = app
        .get_json("/api/v1/machines?search=PRESS&page_size=100", 200)
        .await;
    let names = names(&body);
    assert!(names.contains(&"Seated Leg Press".to_owned()), "{names:?}");
    // Names containing the text rank above machines matched only by synonyms or muscles.
    let by_name = names
        .iter()
        .take_while(|n| n.to_lowercase().contains("press"))
        .count();
    assert!(by_name >= 4, "{names:?}");
    assert!(
        names[by_name..]
            .iter()
            .all(|n| !n.to_lowercase().contains("press")),
        "{names:?}"
    );

    // Wildcards in search text are literal.
    let body = app.get_json("/api/v1/machines?search=%25", 200).await;
    assert_eq!(body["total"], 0);

    let (tag_a, tag_b): (String, String) =
        sqlx::query_as("select tags[1], tags[2] from machines where id = 'leg_press'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let body = app
        .get_json(
            &format!("/api/v1/machines?tags={tag_a}&tags={tag_b}&page_size=100"),
            200,
        )
        .await;
    let machines = body["machines"].as_array().unwrap();
    assert!(machines.iter().any(|m| m["id"] == "leg_press"));
    for m in machines {
        let tags: Vec<&str> = m["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&tag_a.as_str()) && tags.contains(&tag_b.as_str()));
    }

    let response = app.get("/api/v1/machines?difficulty=expert").await;
    let detail = assert_error(response, 422, "validation_error").await.detail;
    assert_eq!(detail[0]["loc"], serde_json::json!(["query", "difficulty"]));
}

#[tokio::test]
async fn retired_machines_are_listed_only_when_asked_for() {
    let app = TestApp::builder().spawn().await;
    sqlx::query("update machines set is_active = false where id = 'treadmill'")
        .execute(&app.db)
        .await
        .unwrap();
    let active = app.get_json("/api/v1/machines?page_size=100", 200).await;
    assert!(
        !active["machines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "treadmill")
    );
    let retired = app.get_json("/api/v1/machines?is_active=false", 200).await;
    assert_eq!(retired["total"], 1);
    assert_eq!(retired["machines"][0]["id"], "treadmill");
    assert_eq!(retired["machines"][0]["is_active"], false);
    // Still reachable by id: history entries point at retired machines too.
    let machine = app.get_json("/api/v1/machines/treadmill", 200).await;
    assert_eq!(machine["is_active"], false);
}

#[tokio::test]
async fn a_machine_is_found_by_id_and_unknown_ids_are_404() {
    let app = TestApp::builder().spawn().await;
    let machine = app.get_json("/api/v1/machines/leg_press", 200).await;
    assert_eq!(machine["id"], "leg_press");
    assert_eq!(machine["name"], "Seated Leg Press");
    let steps = machine["setup_steps"].as_array().unwrap().len();
    assert!((4..=6).contains(&steps), "{steps} setup steps");

    for id in ["no_such_machine", "Leg%20Press", "..%2F..%2Fetc"] {
        let detail = assert_error(
            app.get(&format!("/api/v1/machines/{id}")).await,
            404,
            "not_found",
        )
        .await
        .detail;
        assert_eq!(detail, "Machine not found");
    }
}

#[tokio::test]
async fn category_and_difficulty_lists_hold_distinct_active_values() {
    let app = TestApp::builder().spawn().await;
    let categories = app.get_json("/api/v1/machines/categories/list", 200).await;
    let categories: Vec<&str> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let expected: Vec<String> = sqlx::query_scalar(
        "select distinct category from machines where is_active order by category",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(categories, expected);
    assert!(categories.contains(&"Cardio"));

    let difficulties = app
        .get_json("/api/v1/machines/difficulties/list", 200)
        .await;
    assert_eq!(
        difficulties,
        serde_json::json!(["Beginner", "Intermediate", "Advanced"])
    );
}

#[tokio::test]
async fn search_understands_synonyms_muscles_and_typos() {
    let app = TestApp::builder().spawn().await;
    for (query, expected) in [
        ("treadmill", "treadmill"),
        ("tredmill", "treadmill"),
        ("pec%20fly", "pec_deck_machine"),
        ("butterfly%20machine", "pec_deck_machine"),
        ("Lat%20pulldown", "lat_pulldown"),
    ] {
        let body = app
            .get_json(&format!("/api/v1/machines?search={query}"), 200)
            .await;
        assert_eq!(
            body["machines"][0]["id"],
            expected,
            "{query}: {:?}",
            names(&body)
        );
    }
    let body = app
        .get_json("/api/v1/machines?search=quadriceps&page_size=100", 200)
        .await;
    let ids: Vec<&str> = body["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"leg_extension_machine") && ids.contains(&"leg_press"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"lat_pulldown"), "{ids:?}");
    let body = app.get_json("/api/v1/machines?search=zzzzqqq", 200).await;
    assert_eq!(body["total"], 0);
}
