//! Typed requests: the calls tests make again and again, each written once. Those that
//! return a `Response` leave the status to the test (`answer` reads a success into the
//! library's own answer type); those that return an answer assert the success they name.

use machinemate_api::routes::favorites::FavoriteList;
use machinemate_api::routes::history::HistoryPage;
use machinemate_api::routes::sync::SyncResponse;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::TestApp;

pub const FAVORITES: &str = "/api/v1/favorites";
pub const HISTORY: &str = "/api/v1/history";
pub const ME: &str = "/api/v1/users/me";

/// A multipart form with one file part, as the app sends a photo.
pub fn photo_form(field: &str, bytes: Vec<u8>, file_name: &str, mime: &str) -> Form {
    Form::new().part(
        field.to_owned(),
        Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap(),
    )
}

/// Asserts `response`'s status and reads its body into `T` (an answer type of
/// `machinemate_api::routes`).
pub async fn answer<T: DeserializeOwned>(response: Response, status: u16) -> T {
    let url = response.url().path().to_owned();
    assert_eq!(response.status().as_u16(), status, "{url}");
    let body = response.bytes().await.expect("a body");
    serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{url} answered what its type does not read ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    })
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A request builder with `Authorization: Bearer <token>`.
    pub fn request(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
    }

    /// GET and parse the JSON body, asserting the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// GET as `token`, asserting a 200, and parse the JSON body.
    pub async fn get_json_as(&self, path: &str, token: &str) -> Value {
        let response = self.get_as(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(Method::PATCH, path, token, body).await
    }

    async fn send_json(&self, method: Method, path: &str, token: &str, body: &Value) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete_as(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .expect("request sent")
    }

    /// GET with `If-None-Match`, as a cache revalidates.
    pub async fn get_if_none_match(&self, path: &str, etag: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("If-None-Match", etag)
            .send()
            .await
            .expect("request sent")
    }

    // The catalog, as an admin curates it.

    pub async fn add_machine(&self, token: &str, machine: &Value) -> Response {
        self.post_json("/api/v1/machines", token, machine).await
    }

    pub async fn update_machine(&self, token: &str, id: &str, changes: Value) -> Response {
        self.patch_json(&format!("/api/v1/machines/{id}"), token, &changes)
            .await
    }

    pub async fn retire_machine(&self, token: &str, id: &str) -> Response {
        self.delete_as(&format!("/api/v1/machines/{id}"), token)
            .await
    }

    // Favorites.

    pub async fn add_favorite(&self, token: &str, machine_id: &str) -> Response {
        self.add_favorite_with(token, json!({ "machine_id": machine_id }))
            .await
    }

    /// `POST /api/v1/favorites` with any body.
    pub async fn add_favorite_with(&self, token: &str, body: Value) -> Response {
        self.post_json(FAVORITES, token, &body).await
    }

    /// The caller's favorites.
    pub async fn favorites(&self, token: &str) -> FavoriteList {
        answer(self.get_as(FAVORITES, token).await, 200).await
    }

    pub async fn favorite(&self, token: &str, machine_id: &str) -> Response {
        self.get_as(&format!("{FAVORITES}/{machine_id}"), token)
            .await
    }

    pub async fn update_favorite(&self, token: &str, machine_id: &str, body: Value) -> Response {
        self.patch_json(&format!("{FAVORITES}/{machine_id}"), token, &body)
            .await
    }

    pub async fn delete_favorite(&self, token: &str, machine_id: &str) -> Response {
        self.delete_as(&format!("{FAVORITES}/{machine_id}"), token)
            .await
    }

    pub async fn clear_favorites(&self, token: &str) -> Response {
        self.delete_as(FAVORITES, token).await
    }

    // History.

    /// `POST /api/v1/history` with any body.
    pub async fn add_history(&self, token: &str, body: Value) -> Response {
        self.post_json(HISTORY, token, &body).await
    }

    pub async fn add_history_batch(&self, token: &str, body: Value) -> Response {
        self.post_json(&format!("{HISTORY}/batch"), token, &body)
            .await
    }

    /// A page of the caller's history; `query` is empty or starts with `?`.
    pub async fn history_page(&self, token: &str, query: &str) -> HistoryPage {
        answer(self.get_as(&format!("{HISTORY}{query}"), token).await, 200).await
    }

    pub async fn history_entry(&self, token: &str, id: &str) -> Response {
        self.get_as(&format!("{HISTORY}/{id}"), token).await
    }

    pub async fn delete_history_entry(&self, token: &str, id: &str) -> Response {
        self.delete_as(&format!("{HISTORY}/{id}"), token).await
    }

    pub async fn clear_history(&self, token: &str) -> Response {
        self.delete_as(HISTORY, token).await
    }

    // Identification.

    /// `POST /api/v1/identify`: the full answer (machine id, candidates). The bare
    /// `/identify` and its strict four-key answer are held to the shipped app in
    /// `app_compat`.
    pub async fn identify(&self, token: &str, photo: Vec<u8>) -> Response {
        self.request(Method::POST, "/api/v1/identify", token)
            .multipart(photo_form("image", photo, "photo.jpg", "image/jpeg"))
            .send()
            .await
            .expect("request sent")
    }

    /// `identify`, which must answer 200: the answer.
    pub async fn identified(&self, token: &str, photo: Vec<u8>) -> Value {
        let response = self.identify(token, photo).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// `POST /identify`, the path the shipped app calls, as a client library sends it.
    pub async fn identify_bare(&self, token: &str, photo: Vec<u8>) -> Response {
        let form = Form::new().part("image", Part::bytes(photo).file_name("p.png"));
        self.request(Method::POST, "/identify", token)
            .multipart(form)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn trace(&self, token: &str, trace_id: &str) -> Response {
        self.get_as(&format!("/traces/{trace_id}"), token).await
    }

    /// `POST /api/v1/identifications/{trace_id}/correction`.
    pub async fn correct(&self, token: &str, trace_id: &str, body: Value) -> Response {
        let path = format!("/api/v1/identifications/{trace_id}/correction");
        self.post_json(&path, token, &body).await
    }

    // The account.

    pub async fn update_me(&self, token: &str, body: Value) -> Response {
        self.patch_json(ME, token, &body).await
    }

    pub async fn delete_me(&self, token: &str) -> Response {
        self.delete_as(ME, token).await
    }

    /// `GET /api/v1/sync`, from the start or from `since`, which must answer 200.
    pub async fn sync(&self, token: &str, since: Option<&str>) -> SyncResponse {
        let path = match since {
            Some(cursor) => format!("/api/v1/sync?since={cursor}"),
            None => "/api/v1/sync".to_owned(),
        };
        answer(self.get_as(&path, token).await, 200).await
    }

    // Media.

    /// `POST /api/v1/media/upload`: the photo through the service, as multipart `file`.
    pub async fn upload(&self, token: &str, bytes: Vec<u8>, content_type: &str) -> Response {
        self.request(Method::POST, "/api/v1/media/upload", token)
            .multipart(photo_form("file", bytes, "photo.jpg", content_type))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/v1/media/upload-url` for a user photo of `size` bytes.
    pub async fn upload_ticket(&self, token: &str, content_type: &str, size: usize) -> Response {
        let body =
            json!({"content_type": content_type, "size_bytes": size, "asset_type": "user_photo"});
        self.post_json("/api/v1/media/upload-url", token, &body)
            .await
    }

    pub async fn complete_upload(&self, token: &str, asset_id: &str) -> Response {
        self.request(
            Method::POST,
            &format!("/api/v1/media/{asset_id}/complete"),
            token,
        )
        .send()
        .await
        .expect("request sent")
    }

    pub async fn delete_media(&self, token: &str, path: &str) -> Response {
        self.delete_as(&format!("/api/v1/media/delete/{path}"), token)
            .await
    }
}
