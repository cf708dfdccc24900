//! The access matrix: every route that touches user data (and every admin route), tried
//! as the owner of the data, as another signed-in user, as an anonymous caller (no
//! token) and as an admin. Each answer is checked: status, error envelope, and that no
//! answer to anyone but the owner carries a trace of the owner's data. Afterwards the
//! owner's data is exactly as it was, and the owner can still use every route.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, spawn_app_with};
use crate::stand_ins::auth::keys;
use crate::stand_ins::storage::StorageServer;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Owner,
    Other,
    Anonymous,
    Admin,
}

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Expected status for the owner, another user, an anonymous caller and an admin.
    expect: [u16; 4],
}

fn case(method: Method, path: impl Into<String>, body: Option<Value>, expect: [u16; 4]) -> Case {
    Case {
        method,
        path: path.into(),
        body,
        expect,
    }
}

/// A real PNG, for a recorded (mocked) identification.
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([10, 90, 160]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

struct World {
    app: TestApp,
    _storage: StorageServer,
    tokens: [Option<String>; 4],
    owner: Uuid,
    history_id: String,
    asset_id: String,
    file_path: String,
    trace_id: String,
}

const OWNER_NOTE: &str = "owner-only-note-7f3a";

impl World {
    fn token(&self, caller: Caller) -> Option<&str> {
        self.tokens[caller as usize].as_deref()
    }

    async fn send(&self, caller: Caller, case: &Case) -> reqwest::Response {
        let mut request = self
            .app
            .client
            .request(case.method.clone(), self.app.url(&case.path));
        if let Some(token) = self.token(caller) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &case.body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// Identifiers and text that belong to the owner alone.
    fn owner_secrets(&self) -> Vec<String> {
        vec![
            self.owner.to_string(),
            self.history_id.clone(),
            self.asset_id.clone(),
            self.trace_id.clone(),
            OWNER_NOTE.to_owned(),
        ]
    }
}

async fn world() -> World {
    let storage = StorageServer::start().await;
    let auth = crate::stand_ins::auth::AuthServer::start(&[&keys().es256]).await;
    let env: Vec<(&str, String)> = storage.env().into_iter().chain(auth.env()).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&env).await;
    let (owner, other, admin) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let owner_token = auth.token(&keys().es256, owner, json!({}));
    let other_token = auth.token(&keys().es256, other, json!({}));
    let admin_token = auth.token(
        &keys().es256,
        admin,
        json!({"app_metadata": {"role": "admin"}}),
    );

    // The owner's data: a favorite, a history entry, an uploaded photo, an identification.
    let post = |path: &str, body: Value| {
        app.request(Method::POST, path, &owner_token)
            .json(&body)
            .send()
    };
    let response = post(
        "/api/v1/favorites",
        json!({"machine_id": "leg_press", "notes": OWNER_NOTE}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let response = post(
        "/api/v1/history",
        json!({"machine_id": "leg_press", "photo_uri": OWNER_NOTE}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let history_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("p.png"),
        )
    };
    let response = app
        .request(Method::POST, "/api/v1/media/upload", &owner_token)
        .multipart(upload(photo()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let uploaded: Value = response.json().await.unwrap();
    let identify = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(photo()).file_name("p.png"),
    );
    let response = app
        .request(Method::POST, "/identify", &owner_token)
        .multipart(identify)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = response.json::<Value>().await.unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();

    World {
        app,
        _storage: storage,
        tokens: [
            Some(owner_token),
            Some(other_token),
            None,
            Some(admin_token),
        ],
        owner,
        history_id,
        asset_id: uploaded["asset_id"].as_str().unwrap().to_owned(),
        file_path: uploaded["path"].as_str().unwrap().to_owned(),
        trace_id,
    }
}

/// Rows the owner holds, table by table.
async fn owner_rows(w: &World) -> Value {
    let row: (i64, i64, i64, i64, i64, Option<String>) = sqlx::query_as(
        "select (select count(*) from favorites where user_id = $1), \
                (select count(*) from history where user_id = $1), \
                (select count(*) from media_assets where owner_id = $1), \
                (select count(*) from identification_events where user_id = $1), \
                (select count(*) from users where id = $1), \
                (select notes from favorites where user_id = $1 and machine_id = 'leg_press')",
    )
    .bind(w.owner)
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    json!({"favorites": row.0, "history": row.1, "media": row.2, "identifications": row.3,
           "profile": row.4, "notes": row.5})
}

fn matrix(w: &World) -> Vec<Case> {
    let (h, a, t, f) = (&w.history_id, &w.asset_id, &w.trace_id, &w.file_path);
    let new_machine = json!({
        "id": "access_test_machine", "name": "Access Test Machine", "category": "Arms",
        "difficulty": "Beginner", "equipment_type": "cable", "primary_muscles": ["biceps"],
        "setup_steps": ["Sit down.", "Adjust the seat.", "Grip the handles.", "Brace."],
        "how_to_steps": ["Pull slowly.", "Pause.", "Return under control.", "Breathe."],
        "common_mistakes": ["Jerking."], "safety_tips": ["Go light."], "beginner_tips": ["Start light."]
    });
    use Method as M;
    // [owner, other user, anonymous, admin]. Collections answer each caller's own data
    // (200 for everyone signed in), items of the owner's are 404 to everyone else (their
    // existence is not revealed), admin routes are 403 to users.
    vec![
        // Reads.
        case(M::GET, "/api/v1/favorites", None, [200, 200, 401, 200]),
        case(
            M::GET,
            "/api/v1/favorites/leg_press",
            None,
            [200, 404, 401, 404],
        ),
        case(M::GET, "/api/v1/history", None, [200, 200, 401, 200]),
        case(
            M::GET,
            format!("/api/v1/history/{h}"),
            None,
            [200, 404, 401, 404],
        ),
        case(M::GET, "/api/v1/media", None, [200, 200, 401, 200]),
        case(
            M::GET,
            format!("/api/v1/media/{a}/url"),
            None,
            [200, 404, 401, 404],
        ),
        case(M::GET, "/api/v1/sync", None, [200, 200, 401, 200]),
        case(M::GET, "/api/v1/users/me", None, [200, 200, 401, 200]),
        case(
            M::GET,
            "/api/v1/users/me/export",
            None,
            [200, 200, 401, 200],
        ),
        // Traces: the owner, and admins (support), by design.
        case(M::GET, format!("/traces/{t}"), None, [200, 404, 401, 200]),
        // Writes on the owner's items.
        case(
            M::PATCH,
            "/api/v1/favorites/leg_press",
            Some(json!({"notes": OWNER_NOTE})),
            [200, 404, 401, 404],
        ),
        case(
            M::POST,
            format!("/api/v1/media/{a}/complete"),
            None,
            [200, 404, 401, 404],
        ),
        case(
            M::POST,
            format!("/api/v1/identifications/{t}/correction"),
            Some(json!({"machine_id": "hack_squat_machine"})),
            [201, 404, 401, 404],
        ),
        // Writes that create the caller's own rows (never the owner's).
        case(
            M::POST,
            "/api/v1/favorites",
            Some(json!({"machine_id": "treadmill"})),
            [201, 201, 401, 201],
        ),
        case(
            M::POST,
            "/api/v1/history",
            Some(json!({"machine_id": "treadmill"})),
            [201, 201, 401, 201],
        ),
        case(
            M::POST,
            "/api/v1/history/batch",
            Some(json!({"entries": [{"machine_id": "treadmill"}]})),
            [201, 201, 401, 201],
        ),
        case(
            M::POST,
            "/api/v1/media/upload-url",
            Some(
                json!({"content_type": "image/png", "size_bytes": 10, "asset_type": "user_photo"}),
            ),
            [201, 201, 401, 201],
        ),
        case(
            M::PATCH,
            "/api/v1/users/me",
            Some(json!({"display_name": "Someone"})),
            [200, 200, 401, 200],
        ),
        // Admin routes.
        case(M::GET, "/api/v1/metrics/stats", None, [403, 403, 401, 200]),
        case(M::GET, "/metrics", None, [403, 403, 401, 200]),
        case(
            M::GET,
            "/api/v1/machines/leg_press/audit",
            None,
            [403, 403, 401, 200],
        ),
        case(
            M::POST,
            "/api/v1/machines",
            Some(new_machine),
            [403, 403, 401, 201],
        ),
        case(
            M::PATCH,
            "/api/v1/machines/access_test_machine",
            Some(json!({"difficulty": "Advanced"})),
            [403, 403, 401, 200],
        ),
        case(
            M::DELETE,
            "/api/v1/machines/access_test_machine",
            None,
            [403, 403, 401, 200],
        ),
        // Deletions of the owner's items (last: the owner's run removes them).
        case(
            M::DELETE,
            "/api/v1/favorites/leg_press",
            None,
            [200, 404, 401, 404],
        ),
        case(
            M::DELETE,
            format!("/api/v1/history/{h}"),
            None,
            [200, 404, 401, 404],
        ),
        case(
            M::DELETE,
            format!("/api/v1/media/delete/{f}"),
            None,
            [200, 403, 401, 403],
        ),
        // Clearing and account deletion act on the caller's own data only.
        case(M::DELETE, "/api/v1/favorites", None, [200, 200, 401, 200]),
        case(M::DELETE, "/api/v1/history", None, [200, 200, 401, 200]),
        case(M::DELETE, "/api/v1/users/me", None, [200, 200, 401, 200]),
    ]
}

async fn check(w: &World, caller: Caller, case: &Case) {
    let expected = case.expect[caller as usize];
    let what = format!("{caller:?} {} {}", case.method, case.path);
    let response = w.send(caller, case).await;
    let status = response.status().as_u16();
    if status >= 400 {
        let code = match status {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            _ => panic!("{what}: {status} {}", response.text().await.unwrap()),
        };
        assert_eq!(status, expected, "{what}");
        assert_error(response, status, code).await;
        return;
    }
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "{what}: {text}");
    // Admins may read the owner's trace; nobody else ever sees the owner's data.
    let admin_reading_trace = caller == Caller::Admin && case.path.starts_with("/traces/");
    if caller != Caller::Owner && !admin_reading_trace {
        for secret in w.owner_secrets() {
            assert!(!text.contains(&secret), "{what} leaked {secret}: {text}");
        }
    }
}

#[tokio::test]
async fn every_user_data_route_answers_owner_other_anonymous_and_admin_correctly() {
    let w = world().await;
    let cases = matrix(&w);
    let before = owner_rows(&w).await;
    assert_eq!(
        before,
        json!({"favorites": 1, "history": 1, "media": 1, "identifications": 1, "profile": 1, "notes": OWNER_NOTE})
    );

    for caller in [Caller::Anonymous, Caller::Other, Caller::Admin] {
        for case in &cases {
            check(&w, caller, case).await;
        }
        assert_eq!(owner_rows(&w).await, before, "after {caller:?}");
    }

    // The owner, last, can do everything, ending with deleting their account.
    for case in &cases {
        check(&w, Caller::Owner, case).await;
    }
    let after = owner_rows(&w).await;
    assert_eq!(
        (
            after["favorites"].as_i64(),
            after["history"].as_i64(),
            after["media"].as_i64(),
            after["profile"].as_i64()
        ),
        (Some(0), Some(0), Some(0), Some(0)),
        "{after}"
    );
}
