//! The routes tried, and what each caller must be answered.

use reqwest::Method;
use serde_json::{Value, json};

use super::{OWNER_NOTE, World};

pub struct Case {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    /// Expected status for the owner, another user, an anonymous caller and an admin.
    pub expect: [u16; 4],
}

fn case(method: Method, path: impl Into<String>, body: Option<Value>, expect: [u16; 4]) -> Case {
    Case {
        method,
        path: path.into(),
        body,
        expect,
    }
}

pub fn matrix(w: &World) -> Vec<Case> {
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
