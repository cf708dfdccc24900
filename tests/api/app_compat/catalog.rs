//! The catalog the app merges with its own 39 machines, by id.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{
    APP_CATEGORIES, APP_DIFFICULTIES, assert_app_machine, bundled, load_catalog, merge_by_id, ok,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_catalog_serves_the_apps_39_machines_under_its_ids_names_categories_and_difficulties() {
    // Protects: favorites and history saved on phones under the bundled ids, and the
    // detail screen, which shows the served name and colours a chip by difficulty.
    let app = TestApp::builder().spawn().await;
    let bundled = bundled();
    assert_eq!(bundled.len(), 39, "tests/fixtures/app-catalog.tsv");
    for b in &bundled {
        let m = ok(
            &app,
            "GET",
            &format!("/api/v1/machines/{}", b.id),
            None,
            None,
        )
        .await;
        assert_eq!(
            (
                m["id"].as_str(),
                m["name"].as_str(),
                m["category"].as_str(),
                m["difficulty"].as_str()
            ),
            (
                Some(b.id.as_str()),
                Some(b.name.as_str()),
                Some(b.category.as_str()),
                Some(b.difficulty.as_str())
            ),
            "supabase/seed.sql has drifted from the app's bundle"
        );
        assert_eq!(m["primary_muscles"], json!(b.primary_muscles), "{}", b.id);
        assert_eq!(
            m["secondary_muscles"],
            json!(b.secondary_muscles),
            "{}",
            b.id
        );
        assert_eq!(m["is_active"], true, "{}", b.id);
    }
}

#[tokio::test]
async fn the_apps_catalog_load_merges_by_id_without_duplicates_and_with_guidance() {
    // Protects: the app's machine list, which shows a machine the API serves under
    // another id twice (the second copy without the bundled guidance).
    let app = TestApp::builder().spawn().await;
    let served = load_catalog(&app).await;
    let ids: Vec<&str> = served.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "an id served twice across pages: {ids:?}"
    );

    let bundled = bundled();
    let bundled_ids: HashSet<&str> = bundled.iter().map(|b| b.id.as_str()).collect();
    let bundled_names: HashSet<String> = bundled.iter().map(|b| b.name.to_lowercase()).collect();
    let merged = merge_by_id(&served);
    for b in &bundled {
        let machine = merged[&b.id]
            .as_ref()
            .unwrap_or_else(|| panic!("{} is bundled but not served", b.id));
        for list in [
            "setup_steps",
            "how_to_steps",
            "common_mistakes",
            "safety_tips",
            "beginner_tips",
        ] {
            let items = machine[list].as_array().unwrap();
            assert!(
                !items.is_empty() && items.iter().all(|s| !s.as_str().unwrap().is_empty()),
                "{} has no {list}",
                b.id
            );
        }
    }
    for machine in &served {
        assert_app_machine(machine, "catalog list");
        let (id, name) = (
            machine["id"].as_str().unwrap(),
            machine["name"].as_str().unwrap(),
        );
        if !bundled_ids.contains(id) {
            assert!(
                !bundled_names.contains(&name.to_lowercase()),
                "{id} is a second id for the bundled machine {name:?}: the app would list it twice"
            );
        }
    }
    assert_eq!(
        merged.len(),
        served.len(),
        "every bundled machine is served, so the merge adds none"
    );
}

#[tokio::test]
async fn difficulty_and_category_are_the_apps_on_every_route_and_filters_take_any_case() {
    // Protects: the app's strict types for Machine wherever one is embedded.
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    let token = Some(token.as_str());

    let difficulties = ok(
        &app,
        "GET",
        "/api/v1/machines/difficulties/list",
        None,
        None,
    )
    .await;
    assert_eq!(
        difficulties,
        json!(APP_DIFFICULTIES),
        "easiest first, capitalised"
    );
    let categories = ok(&app, "GET", "/api/v1/machines/categories/list", None, None).await;
    for c in categories.as_array().unwrap() {
        assert!(APP_CATEGORIES.contains(&c.as_str().unwrap()), "{c}");
    }

    let mut totals = Vec::new();
    for spelling in ["Beginner", "beginner", "BEGINNER"] {
        let page = ok(
            &app,
            "GET",
            &format!("/api/v1/machines?difficulty={spelling}&page_size=100"),
            None,
            None,
        )
        .await;
        assert!(
            page["machines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["difficulty"] == "Beginner")
        );
        totals.push(page["total"].as_u64().unwrap());
    }
    assert!(
        totals[0] > 0 && totals.iter().all(|t| *t == totals[0]),
        "{totals:?}"
    );
    let lower_body = ok(
        &app,
        "GET",
        "/api/v1/machines?category=lower%20body",
        None,
        None,
    )
    .await;
    assert!(lower_body["total"].as_u64().unwrap() > 0);

    // Favorites, history and sync embed the same Machine.
    let machine = json!({"machine_id": "shoulder_press"});
    ok(&app, "POST", "/api/v1/favorites", token, Some(&machine)).await;
    let entry = ok(&app, "POST", "/api/v1/history", token, Some(&machine)).await;
    let mut embedded: Vec<Value> = vec![
        ok(&app, "GET", "/api/v1/machines/shoulder_press", None, None).await,
        ok(&app, "GET", "/api/v1/favorites", token, None).await["favorites"][0]["machine"].clone(),
        ok(&app, "GET", "/api/v1/favorites/shoulder_press", token, None).await["machine"].clone(),
        ok(&app, "GET", "/api/v1/history", token, None).await["history"][0]["machine"].clone(),
        ok(
            &app,
            "GET",
            &format!("/api/v1/history/{}", entry["id"].as_str().unwrap()),
            token,
            None,
        )
        .await["machine"]
            .clone(),
    ];
    for m in &embedded {
        assert_eq!(m["difficulty"], "Intermediate", "{m}");
    }
    let sync = ok(&app, "GET", "/api/v1/sync", token, None).await;
    embedded.extend(
        sync["machines"]["upserted"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    assert!(embedded.len() > 5, "sync carries the catalog");
    for m in &embedded {
        assert_app_machine(m, "embedded machine");
    }
}
