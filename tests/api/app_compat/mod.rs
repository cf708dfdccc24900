//! The shipped MachineMate app as the judge. Each test talks to the service the way the
//! app's own API code (the version in users' hands) does, and reads each answer the way
//! the app reads it. The facts, and the app behaviour each assertion protects, are listed
//! in `docs/api.md`, "Compatibility with the shipped app"; `tests/fixtures/app-catalog.tsv` is
//! the catalog the app ships with.

mod catalog;
mod identify;
mod user_data;

use std::collections::BTreeMap;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::helpers::TestApp;
use crate::raw_http::read_response;

/// The app's type for a machine's difficulty: exactly these strings.
pub const APP_DIFFICULTIES: [&str; 3] = ["Beginner", "Intermediate", "Advanced"];
/// The app's type for a machine's category.
pub const APP_CATEGORIES: [&str; 9] = [
    "Upper Body",
    "Lower Body",
    "Back",
    "Chest",
    "Shoulders",
    "Arms",
    "Core",
    "Cardio",
    "Full Body",
];

/// One machine the app ships with (a row of `app-catalog.tsv`).
#[derive(Debug, Clone)]
pub struct Bundled {
    pub id: String,
    pub name: String,
    pub category: String,
    pub difficulty: String,
    pub primary_muscles: Vec<String>,
    pub secondary_muscles: Vec<String>,
}

/// The app's bundled catalog, in the app's order.
pub fn bundled() -> Vec<Bundled> {
    let tsv = include_str!("../../fixtures/app-catalog.tsv");
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next(),
        Some("id\tname\tcategory\tdifficulty\tprimary_muscles\tsecondary_muscles\tsynonyms")
    );
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect()
    };
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "{line}");
            Bundled {
                id: f[0].into(),
                name: f[1].into(),
                category: f[2].into(),
                difficulty: f[3].into(),
                primary_muscles: list(f[4]),
                secondary_muscles: list(f[5]),
            }
        })
        .collect()
}

/// What the app's `apiRequest` throws: any non-2xx answer (read as text), and a 2xx whose
/// body is not JSON (`response.json()` throws on an empty 204 body too).
#[derive(Debug)]
pub struct Thrown {
    pub status: u16,
    pub text: String,
}

/// A request exactly as the app's `apiRequest` helper sends it: `Content-Type:
/// application/json` on every call (GET and DELETE included), no `Accept` header, the
/// bearer token when signed in. Sent over a raw socket, since an HTTP client library adds
/// headers of its own (`Accept: */*`). A 2xx answer's body is parsed as JSON, as the app
/// does; anything else is what the app would throw.
pub async fn api_request(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Value, Thrown> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n",
        app.address.trim_start_matches("http://")
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let payload = body.map(Value::to_string).unwrap_or_default();
    if body.is_some() {
        head.push_str(&format!("Content-Length: {}\r\n", payload.len()));
    }
    head.push_str("\r\n");
    send(app, [head.as_bytes(), payload.as_bytes()].concat()).await
}

/// The app's identify call: `POST /identify` (the bare path), multipart field `image`
/// holding a JPEG, `Accept: application/json`, the token when signed in.
pub async fn identify_request(app: &TestApp, token: &str, jpeg: &[u8]) -> Result<Value, Thrown> {
    let boundary = "----MachineMateAppBoundary7MA4YWxkTrZu0gW";
    let mut payload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"photo.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    payload.extend_from_slice(jpeg);
    payload.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /identify HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        app.address.trim_start_matches("http://"),
        payload.len()
    );
    send(app, [head.into_bytes(), payload].concat()).await
}

async fn send(app: &TestApp, request: Vec<u8>) -> Result<Value, Thrown> {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(&request).await.unwrap();
    let answer = read_response(&mut stream).await;
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    if !(200..300).contains(&answer.status) {
        return Err(Thrown {
            status: answer.status,
            text,
        });
    }
    serde_json::from_slice(&answer.body).map_err(|e| Thrown {
        status: answer.status,
        text: format!("response.json() would throw ({e}) on {text:?}"),
    })
}

/// `api_request` for a call the test expects to succeed.
pub async fn ok(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Value {
    api_request(app, method, path, token, body)
        .await
        .unwrap_or_else(|t| panic!("{method} {path}: the app would throw: {t:?}"))
}

/// The app's catalog load: `GET /api/v1/machines?page=N&page_size=50`, N = 1, 2, ...,
/// without a token, until it holds `total` machines.
pub async fn load_catalog(app: &TestApp) -> Vec<Value> {
    let mut machines = Vec::new();
    for page in 1.. {
        let body = ok(
            app,
            "GET",
            &format!("/api/v1/machines?page={page}&page_size=50"),
            None,
            None,
        )
        .await;
        let total = body["total"].as_u64().expect("total") as usize;
        let items = body["machines"].as_array().expect("machines").clone();
        assert!(
            !items.is_empty() || machines.len() >= total,
            "page {page} is empty before `total` ({total}) machines arrived: the app would loop"
        );
        machines.extend(items);
        if machines.len() >= total {
            break;
        }
    }
    machines
}

/// The app's merge: its bundled machines, overlaid by the API's, by `id`. Returns the
/// merged catalog (id -> the API's machine, or the bundled one's name when the API lacks
/// it).
pub fn merge_by_id(api: &[Value]) -> BTreeMap<String, Option<Value>> {
    let mut merged: BTreeMap<String, Option<Value>> =
        bundled().into_iter().map(|b| (b.id, None)).collect();
    for machine in api {
        merged.insert(
            machine["id"].as_str().unwrap().to_owned(),
            Some(machine.clone()),
        );
    }
    merged
}

/// A machine as the app's type accepts it: difficulty and category from its unions.
pub fn assert_app_machine(machine: &Value, why: &str) {
    let id = &machine["id"];
    let difficulty = machine["difficulty"].as_str().unwrap_or_default();
    assert!(
        APP_DIFFICULTIES.contains(&difficulty),
        "{why}: {id} has difficulty {difficulty:?}; the app's type is {APP_DIFFICULTIES:?} (the detail screen colours its chip by it)"
    );
    let category = machine["category"].as_str().unwrap_or_default();
    assert!(
        APP_CATEGORIES.contains(&category),
        "{why}: {id} has category {category:?}, outside the app's union"
    );
}
