//! The catalog's machine, and the filters the list route accepts.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use super::pagination::PageRequest;
use crate::error::ApiError;
use crate::extract::QueryParams;

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

/// Query parameters of `GET /api/v1/machines` (documentation; parsed by [`MachineFilter`]).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MachineListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000, default = 1)]
    page: Option<u32>,
    /// Machines per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    page_size: Option<u32>,
    /// Only this category (`category_param` describes it).
    #[param(schema_with = category_param)]
    category: Option<String>,
    /// Only this difficulty (`difficulty_param` describes it).
    #[param(schema_with = difficulty_param)]
    difficulty: Option<String>,
    /// Words to look for, in any case: matched against each machine's name first, then
    /// its other names, muscles, tags and category, forgiving typos (`tredmill` finds the
    /// treadmill, `pec fly` the pec deck); best matches first.
    #[param(max_length = 100, example = "leg press")]
    search: Option<String>,
    /// Repeatable; a machine must carry every tag given.
    tags: Option<Vec<String>>,
    /// Active (default) or retired machines.
    #[param(default = true)]
    is_active: Option<bool>,
}

/// A query parameter that takes one of `allowed` (the explorer offers them as a list).
/// utoipa leaves a parameter's doc comment out when its schema is given, so the schema
/// carries the description.
fn one_of(allowed: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(allowed.iter().copied()))
        .description(Some(description))
        .build()
}

fn category_param() -> Object {
    one_of(&CATEGORIES, "Only this category (any case).")
}

fn difficulty_param() -> Object {
    one_of(&DIFFICULTIES, "Only this difficulty (any case).")
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

impl MachineFilter {
    pub fn from_query_string(query_string: &str) -> Result<Self, ApiError> {
        let mut q = QueryParams::parse(query_string);
        let filter = MachineFilter {
            page: PageRequest::from_query(&mut q),
            category: q.choice("category", &CATEGORIES),
            difficulty: q.choice("difficulty", &DIFFICULTIES),
            search: q.text("search", 100),
            tags: q
                .list("tags", 10, 50)
                .into_iter()
                .map(|t| t.to_lowercase())
                .collect(),
            is_active: q.boolean("is_active", true),
        };
        q.finish(filter)
    }
}

impl FromRequest for MachineFilter {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::from_query_string(req.query_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_parsed_and_normalised() {
        let f = MachineFilter::from_query_string(
            "category=lower%20body&difficulty=bEGINNER&tags=Legs&tags=push&search=%20press%20&is_active=false",
        )
        .unwrap();
        assert_eq!(f.category, Some("Lower Body"));
        assert_eq!(f.difficulty, Some("Beginner"));
        assert_eq!(f.tags, ["legs", "push"]);
        assert_eq!(f.search.as_deref(), Some("press"));
        assert!(!f.is_active);
    }

    #[test]
    fn every_bad_parameter_is_reported_at_once() {
        let Err(ApiError::Validation(issues)) =
            MachineFilter::from_query_string("page_size=101&difficulty=expert&is_active=maybe")
        else {
            panic!("expected a validation error");
        };
        assert_eq!(issues.len(), 3);
    }
}
