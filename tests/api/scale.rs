//! Scale-out: three instances of the service on one database, as Cloud Run runs them,
//! with requests spread across them. Quotas stay exact, an idempotency key used on one
//! instance is honoured on the others, traces and sync cursors work from any instance,
//! and an admin's catalog change reaches every instance within the freshness bound.
//!
//! (Two-instance versions of the catalog bound and of traces after a restart are in
//! `catalog.rs` and `identify.rs`.)

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, database_url, deleted_count, fresh_database, spawn_with_settings, test_settings,
};
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::fireworks::{FireworksServer, says};

struct Cluster {
    apps: Vec<TestApp>,
    auth: AuthServer,
    fireworks: FireworksServer,
}

impl Cluster {
    /// Instance `i` of three, round robin.
    fn at(&self, i: usize) -> &TestApp {
        &self.apps[i % self.apps.len()]
    }

    async fn user(&self) -> (Uuid, String) {
        let id = self.apps[0].sign_up().await;
        (id, self.auth.token(&keys().es256, id, json!({})))
    }
}

/// Three instances on one fresh database, with the Auth and Fireworks stand-ins.
async fn cluster(extra: &[(&str, &str)]) -> Cluster {
    let auth = AuthServer::start(&[&keys().es256]).await;
    let fireworks = FireworksServer::start(vec![], says("Leg Press", 0.9)).await;
    let (auth_env, fw_env) = (auth.env(), fireworks.env());
    let mut env: Vec<(&str, &str)> = auth_env
        .iter()
        .chain(fw_env.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    env.extend_from_slice(extra);
    let name = fresh_database().await;
    let mut apps = Vec::new();
    for _ in 0..3 {
        let settings = test_settings(&database_url(&name), &env);
        apps.push(spawn_with_settings(settings, name.clone()).await);
    }
    Cluster {
        apps,
        auth,
        fireworks,
    }
}

/// A real PNG; `shade` makes distinct photos (distinct cache keys).
fn photo(shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([shade, 60, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

async fn identify(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes).file_name("p.png"),
    );
    app.request(Method::POST, "/identify", token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_daily_quota_is_exact_across_three_instances() {
    let c = cluster(&[("IDENTIFY_DAILY_LIMIT", "6")]).await;
    let (user, token) = c.user().await;
    let responses = futures_util::future::join_all(
        (0..24u8).map(|i| identify(c.at(i.into()), &token, photo(i))),
    )
    .await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!((ok, limited), (6, 18));
    assert_eq!(
        c.fireworks.calls(),
        6,
        "refused calls never reach Fireworks"
    );
    let used: i32 = sqlx::query_scalar("select used from identification_quota where user_id = $1")
        .bind(user)
        .fetch_one(&c.apps[0].db)
        .await
        .unwrap();
    assert_eq!(used, 6);
    // Every instance now refuses, however it is asked.
    for i in 0..3 {
        let response = identify(c.at(i), &token, photo(100 + i as u8)).await;
        assert_eq!(response.status(), 429);
    }
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_honoured_on_the_others() {
    let c = cluster(&[]).await;
    let (_, token) = c.user().await;
    let body = json!({"machine_id": "leg_press", "confidence": 0.8});
    let post = |i: usize, key: &str| {
        c.at(i)
            .request(Method::POST, "/api/v1/history", &token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    // Used on one instance, replayed by the others.
    let first = post(0, "retry-me").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    for i in [1, 2] {
        let again = post(i, "retry-me").await.unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
    }

    // The same new key on all three at once: one entry, and every answer is that entry
    // or "in progress" (409), never a second entry.
    let racing = futures_util::future::join_all((0..9).map(|i| post(i, "raced"))).await;
    let mut created = Vec::new();
    for response in racing {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created.push(response.json::<Value>().await.unwrap()["id"].clone()),
            409 => {}
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    let rows: i64 = sqlx::query_scalar("select count(*) from history")
        .fetch_one(&c.apps[0].db)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    // The key with another request is refused on any instance.
    let other = c
        .at(2)
        .request(Method::POST, "/api/v1/history", &token)
        .header("Idempotency-Key", "retry-me")
        .json(&json!({"machine_id": "treadmill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 422);
}

#[tokio::test]
async fn traces_and_sync_cursors_work_from_any_instance() {
    let c = cluster(&[]).await;
    let (_, token) = c.user().await;

    // An identification on one instance is traced and correctable on the others.
    let response = identify(c.at(0), &token, photo(1)).await;
    assert_eq!(response.status(), 200);
    let trace_id = response.json::<Value>().await.unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in [1, 2] {
        let trace: Value = c
            .at(i)
            .get_as(&format!("/traces/{trace_id}"), &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(trace["machine"], "Seated Leg Press", "instance {i}");
    }
    let correction = c
        .at(2)
        .request(
            Method::POST,
            &format!("/api/v1/identifications/{trace_id}/correction"),
            &token,
        )
        .json(&json!({"machine_id": "hack_squat_machine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(correction.status(), 201);

    // A cursor from one instance continues on another: each change exactly once.
    let sync = |i: usize, cursor: Option<String>| {
        let path = match cursor {
            Some(c) => format!("/api/v1/sync?since={c}"),
            None => "/api/v1/sync".into(),
        };
        let app = c.at(i);
        let token = token.clone();
        async move {
            let response = app.get_as(&path, &token).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let mut cursor = sync(0, None).await["cursor"].as_str().unwrap().to_owned();
    let machines = [
        "leg_press",
        "treadmill",
        "lat_pulldown",
        "chest_press",
        "seated_row",
        "seated_leg_curl",
    ];
    for (i, machine) in machines.iter().enumerate() {
        let response = c
            .at(i)
            .request(Method::POST, "/api/v1/favorites", &token)
            .json(&json!({"machine_id": machine}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        // Read on the next instance, after a write on this one.
        let changes = sync(i + 1, Some(cursor.clone())).await;
        let upserted: Vec<&str> = changes["favorites"]["upserted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["machine_id"].as_str().unwrap())
            .collect();
        assert_eq!(upserted, [*machine], "after a write on instance {i}");
        cursor = changes["cursor"].as_str().unwrap().to_owned();
    }
    let response = c
        .at(1)
        .request(Method::DELETE, "/api/v1/favorites/treadmill", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted_count(response).await, 1);
    let changes = sync(2, Some(cursor.clone())).await;
    assert_eq!(changes["favorites"]["deleted"], json!(["treadmill"]));
    assert_eq!(changes["favorites"]["upserted"], json!([]));
    // Nothing new: the same cursor again (on yet another instance) is empty.
    let cursor = changes["cursor"].as_str().unwrap().to_owned();
    let changes = sync(0, Some(cursor)).await;
    assert_eq!(changes["favorites"]["deleted"], json!([]));
    assert_eq!(changes["favorites"]["upserted"], json!([]));
}

#[tokio::test]
async fn an_admin_change_reaches_all_three_instances_within_the_freshness_bound() {
    let c = cluster(&[]).await;
    let admin = c.apps[0].sign_up().await;
    let admin = c.auth.token(
        &keys().es256,
        admin,
        json!({"app_metadata": {"role": "admin"}}),
    );
    let path = "/api/v1/machines/treadmill";
    let list = "/api/v1/machines?category=Cardio&page_size=100";
    // A user whose favorites and history embed the treadmill.
    let (_, user) = c.user().await;
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
        .request(Method::PATCH, path, &admin)
        .json(&json!({"difficulty": "Advanced"}))
        .send()
        .await
        .unwrap();
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

/// Favorites `machine_id` and records it in history, on `app`.
async fn add_favorite_and_history(app: &TestApp, token: &str, machine_id: &str) {
    for (path, status) in [("/api/v1/favorites", 201), ("/api/v1/history", 201)] {
        let response = app
            .request(Method::POST, path, token)
            .json(&json!({"machine_id": machine_id}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "POST {path}");
    }
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

#[tokio::test]
async fn a_machine_created_on_one_instance_is_embedded_at_once_by_another() {
    // Instances re-read the catalog version only once a minute here, so instance 2
    // cannot learn of the new machine that way during the test.
    let c = cluster(&[("CATALOG_MAX_STALENESS_MS", "60000")]).await;
    let admin = c.apps[0].sign_up().await;
    let admin = c.auth.token(
        &keys().es256,
        admin,
        json!({"app_metadata": {"role": "admin"}}),
    );
    let (_, user) = c.user().await;
    // Instance 2 holds the catalog as it was before the new machine.
    add_favorite_and_history(c.at(2), &user, "leg_press").await;
    assert_eq!(
        embedded(c.at(2), &user, "leg_press").await,
        ["Beginner", "Beginner"]
    );

    let created = c.apps[0]
        .request(Method::POST, "/api/v1/machines", &admin)
        .json(&json!({
            "id": "nordic_curl_bench", "name": "Nordic Curl Bench", "category": "Lower Body",
            "difficulty": "Intermediate", "equipment_type": "plate_loaded",
            "primary_muscles": ["hamstrings"], "secondary_muscles": ["glutes"],
            "setup_steps": ["Kneel on the pad.", "Hook your heels under the roller.", "Set the roller snug on your ankles.", "Cross your arms over your chest."],
            "how_to_steps": ["Lower your body forward slowly.", "Keep hips and shoulders in line.", "Catch yourself with your hands.", "Pull back up with your hamstrings."],
            "common_mistakes": ["Bending at the hips."], "safety_tips": ["Check the roller is locked."],
            "beginner_tips": ["Use a band for help."], "tags": ["hamstrings"],
            "synonyms": ["nordic hamstring bench"], "visual_cues": ["kneeling pad with an ankle roller"]
        }))
        .send()
        .await
        .unwrap();
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
