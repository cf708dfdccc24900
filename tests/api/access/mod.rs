//! The access matrix: every route that touches user data (and every admin route), tried
//! as the owner of the data, as another signed-in user, as an anonymous caller (no
//! token) and as an admin. Each answer is checked: status, error envelope, and that no
//! answer to anyone but the owner carries a trace of the owner's data. Afterwards the
//! owner's data is exactly as it was, and the owner can still use every route.

mod matrix;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error};
use matrix::{Case, matrix};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Caller {
    Owner,
    Other,
    Anonymous,
    Admin,
}

/// A real PNG, for a recorded (mocked) identification.
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([10, 90, 160]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

pub struct World {
    app: TestApp,
    tokens: [Option<String>; 4],
    owner: Uuid,
    pub history_id: String,
    pub asset_id: String,
    pub file_path: String,
    pub trace_id: String,
}

pub const OWNER_NOTE: &str = "owner-only-note-7f3a";

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
    let app = TestApp::builder().auth().storage().spawn().await;
    let (owner, owner_token) = app.sign_up_and_in().await;
    let other_token = app.sign_in().await;
    let admin_token = app.admin_token().await;

    // The owner's data: a favorite, a history entry, an uploaded photo, an identification.
    let response = app
        .add_favorite_with(
            &owner_token,
            json!({"machine_id": "leg_press", "notes": OWNER_NOTE}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .add_history(
            &owner_token,
            json!({"machine_id": "leg_press", "photo_uri": OWNER_NOTE}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let history_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app.upload(&owner_token, photo(), "image/png").await;
    assert_eq!(response.status(), 201);
    let uploaded: Value = response.json().await.unwrap();
    let response = app.identify_bare(&owner_token, photo()).await;
    assert_eq!(response.status(), 200);
    let trace_id = response.json::<Value>().await.unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();

    World {
        app,
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
