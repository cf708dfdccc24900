//! Admin curation of the catalog: a machine as admins write it (with its recognition
//! hints), validated field by field into 422 issues.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use super::machine::{CATEGORIES, DIFFICULTIES};

pub const EQUIPMENT_TYPES: [&str; 7] = [
    "selectorized",
    "plate_loaded",
    "cable",
    "cardio",
    "smith",
    "bodyweight",
    "assisted",
];

/// Every writable field of a machine. On create, all but the optional ones are
/// required; on update (PATCH), every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineFields {
    /// Lowercase letters, digits and `_`; fixed once created.
    #[schema(example = "cable_curl", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub id: Option<String>,
    /// 2 to 100 characters (trimmed).
    #[schema(min_length = 2, max_length = 100)]
    pub name: Option<String>,
    #[schema(schema_with = category_schema)]
    pub category: Option<String>,
    #[schema(schema_with = difficulty_schema)]
    pub difficulty: Option<String>,
    #[schema(schema_with = equipment_type_schema)]
    pub equipment_type: Option<String>,
    /// Each list item: 1 to 500 characters.
    #[schema(min_items = 1, max_items = 10)]
    pub primary_muscles: Option<Vec<String>>,
    #[schema(max_items = 10)]
    pub secondary_muscles: Option<Vec<String>>,
    #[schema(min_items = 1, max_items = 12)]
    pub setup_steps: Option<Vec<String>>,
    #[schema(min_items = 1, max_items = 12)]
    pub how_to_steps: Option<Vec<String>>,
    #[schema(max_items = 12)]
    pub common_mistakes: Option<Vec<String>>,
    #[schema(min_items = 1, max_items = 12)]
    pub safety_tips: Option<Vec<String>>,
    #[schema(max_items = 12)]
    pub beginner_tips: Option<Vec<String>>,
    #[schema(max_items = 12)]
    pub tags: Option<Vec<String>>,
    /// Other names people and vision models use for the machine.
    #[schema(max_items = 20)]
    pub synonyms: Option<Vec<String>>,
    /// What a photo shows that sets this machine apart.
    #[schema(max_items = 20)]
    pub visual_cues: Option<Vec<String>>,
    /// An http(s) URL of at most 2048 characters (as are the other URLs).
    #[schema(max_length = 2048)]
    pub thumbnail_url: Option<String>,
    #[schema(max_length = 2048)]
    pub image_url: Option<String>,
    #[schema(max_length = 2048)]
    pub video_url: Option<String>,
    #[schema(max_length = 2048)]
    pub muscle_diagram_url: Option<String>,
    /// A JSON object of at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub is_active: Option<bool>,
}

/// A string that must be one of `allowed` (or `null`, which leaves the field as it is).
fn choice_schema(allowed: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .enum_values(Some(
            allowed.iter().map(|v| Value::from(*v)).chain([Value::Null]),
        ))
        .build()
}

fn category_schema() -> Object {
    choice_schema(&CATEGORIES)
}

fn difficulty_schema() -> Object {
    choice_schema(&DIFFICULTIES)
}

fn equipment_type_schema() -> Object {
    choice_schema(&EQUIPMENT_TYPES)
}

/// A complete machine, ready to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct MachineRecord {
    pub id: String,
    pub name: String,
    pub category: String,
    pub difficulty: String,
    pub equipment_type: String,
    pub primary_muscles: Vec<String>,
    pub secondary_muscles: Vec<String>,
    pub setup_steps: Vec<String>,
    pub how_to_steps: Vec<String>,
    pub common_mistakes: Vec<String>,
    pub safety_tips: Vec<String>,
    pub beginner_tips: Vec<String>,
    pub tags: Vec<String>,
    pub synonyms: Vec<String>,
    pub visual_cues: Vec<String>,
    pub thumbnail_url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub muscle_diagram_url: Option<String>,
    pub metadata: Value,
    pub is_active: bool,
}

mod apply;

#[cfg(test)]
mod tests;
