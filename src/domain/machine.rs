//! The catalog's machine, and the filters the list route accepts (read from the query
//! string by `routes::machines`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::pagination::PageRequest;

pub const CATEGORIES: [&str; 9] = [
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

/// In teaching order, easiest first; capitalised, as the shipped app's type for them.
pub const DIFFICULTIES: [&str; 3] = ["Beginner", "Intermediate", "Advanced"];

/// `value` spelled as the one of `allowed` it matches ignoring case, or unchanged (and
/// then refused by the validation that follows).
pub fn canonical(value: String, allowed: &[&str]) -> String {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(&value))
        .map_or(value, |a| (*a).to_owned())
}

/// A gym machine with its guidance, as the app shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Machine {
    /// Text slug, e.g. `leg_press`.
    #[schema(example = "leg_press")]
    pub id: String,
    #[schema(example = "Seated Leg Press")]
    pub name: String,
    /// One of Upper Body, Lower Body, Back, Chest, Shoulders, Arms, Core, Cardio, Full Body.
    #[schema(example = "Lower Body")]
    pub category: String,
    /// Beginner, Intermediate or Advanced (capitalised: the app's type).
    #[schema(example = "Beginner")]
    pub difficulty: String,
    pub primary_muscles: Vec<String>,
    pub secondary_muscles: Vec<String>,
    /// selectorized, plate_loaded, cable, cardio, smith, bodyweight or assisted.
    pub equipment_type: String,
    pub setup_steps: Vec<String>,
    pub how_to_steps: Vec<String>,
    pub common_mistakes: Vec<String>,
    pub safety_tips: Vec<String>,
    pub beginner_tips: Vec<String>,
    pub thumbnail_url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub muscle_diagram_url: Option<String>,
    pub tags: Vec<String>,
    /// Free-form extras, e.g. suggested sets and rep ranges.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the list route was asked for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineFilter {
    pub page: PageRequest,
    pub category: Option<&'static str>,
    pub difficulty: Option<&'static str>,
    pub search: Option<String>,
    pub tags: Vec<String>,
    pub is_active: bool,
}
