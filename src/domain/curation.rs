//! Admin curation of the catalog: a machine as admins write it (with its recognition
//! hints), validated field by field into 422 issues.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use super::machine::{CATEGORIES, DIFFICULTIES, canonical};
use super::machine_id::is_machine_id;
use crate::error::{LocItem, ValidationIssue};

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

struct Checker {
    issues: Vec<ValidationIssue>,
}

impl Checker {
    fn issue(&mut self, field: &str, kind: &str, msg: impl Into<String>) {
        self.issues.push(ValidationIssue::new(
            vec![LocItem::from("body"), field.into()],
            kind,
            msg,
        ));
    }

    fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let n = value.trim().chars().count();
        if n < min || n > max {
            self.issue(
                field,
                "string_too_long",
                format!("Must be {min} to {max} characters"),
            );
        }
    }

    fn list(&mut self, field: &str, items: &[String], min: usize, max: usize) {
        if items.len() < min || items.len() > max {
            self.issue(field, "too_long", format!("Must hold {min} to {max} items"));
        }
        if items
            .iter()
            .any(|i| i.trim().is_empty() || i.chars().count() > 500)
        {
            self.issue(
                field,
                "string_too_long",
                "Each item must be 1 to 500 characters",
            );
        }
    }

    fn choice(&mut self, field: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.issue(
                field,
                "enum",
                format!("Input should be one of {}", allowed.join(", ")),
            );
        }
    }

    fn url(&mut self, field: &str, value: &Option<String>) {
        if let Some(u) = value
            && !super::is_web_url(u)
        {
            self.issue(field, "url_parsing", "Input should be a valid http(s) URL");
        }
    }
}

impl MachineFields {
    /// Applies these fields over `base` (an update), or builds a new machine from them
    /// (`base` is `None`), and validates the result.
    pub fn apply(
        self,
        base: Option<&MachineRecord>,
    ) -> Result<MachineRecord, Vec<ValidationIssue>> {
        let mut c = Checker { issues: Vec::new() };
        let creating = base.is_none();
        let mut required = |field: &str, present: bool| {
            if creating && !present {
                c.issue(field, "missing", "Field required");
            }
        };
        required("id", self.id.is_some());
        required("name", self.name.is_some());
        required("category", self.category.is_some());
        required("difficulty", self.difficulty.is_some());
        required("equipment_type", self.equipment_type.is_some());
        required("primary_muscles", self.primary_muscles.is_some());
        required("setup_steps", self.setup_steps.is_some());
        required("how_to_steps", self.how_to_steps.is_some());
        required("safety_tips", self.safety_tips.is_some());
        if let (Some(base), Some(id)) = (base, &self.id)
            && *id != base.id
        {
            c.issue("id", "frozen_field", "A machine's id cannot change");
        }
        let empty = MachineRecord {
            id: String::new(),
            name: String::new(),
            category: String::new(),
            difficulty: String::new(),
            equipment_type: String::new(),
            primary_muscles: vec![],
            secondary_muscles: vec![],
            setup_steps: vec![],
            how_to_steps: vec![],
            common_mistakes: vec![],
            safety_tips: vec![],
            beginner_tips: vec![],
            tags: vec![],
            synonyms: vec![],
            visual_cues: vec![],
            thumbnail_url: None,
            image_url: None,
            video_url: None,
            muscle_diagram_url: None,
            metadata: Value::Object(Default::default()),
            is_active: true,
        };
        let b = base.cloned().unwrap_or(empty);
        let m = MachineRecord {
            id: self.id.unwrap_or(b.id),
            name: self.name.map(|n| n.trim().to_owned()).unwrap_or(b.name),
            // Any case is accepted and stored as the app spells it ("Lower Body", "Beginner").
            category: self
                .category
                .map_or(b.category, |c| canonical(c, &CATEGORIES)),
            difficulty: self
                .difficulty
                .map_or(b.difficulty, |d| canonical(d, &DIFFICULTIES)),
            equipment_type: self.equipment_type.unwrap_or(b.equipment_type),
            primary_muscles: self.primary_muscles.unwrap_or(b.primary_muscles),
            secondary_muscles: self.secondary_muscles.unwrap_or(b.secondary_muscles),
            setup_steps: self.setup_steps.unwrap_or(b.setup_steps),
            how_to_steps: self.how_to_steps.unwrap_or(b.how_to_steps),
            common_mistakes: self.common_mistakes.unwrap_or(b.common_mistakes),
            safety_tips: self.safety_tips.unwrap_or(b.safety_tips),
            beginner_tips: self.beginner_tips.unwrap_or(b.beginner_tips),
            tags: self
                .tags
                .map(|t| t.into_iter().map(|t| t.trim().to_lowercase()).collect())
                .unwrap_or(b.tags),
            synonyms: self.synonyms.unwrap_or(b.synonyms),
            visual_cues: self.visual_cues.unwrap_or(b.visual_cues),
            thumbnail_url: self.thumbnail_url.or(b.thumbnail_url),
            image_url: self.image_url.or(b.image_url),
            video_url: self.video_url.or(b.video_url),
            muscle_diagram_url: self.muscle_diagram_url.or(b.muscle_diagram_url),
            metadata: self.metadata.unwrap_or(b.metadata),
            is_active: self.is_active.unwrap_or(b.is_active),
        };
        if c.issues.is_empty() {
            if !is_machine_id(&m.id) {
                c.issue(
                    "id",
                    "string_pattern_mismatch",
                    "Use lowercase letters, digits and _ (2-63)",
                );
            }
            // As the column's check: 2 to 100 characters.
            c.text("name", &m.name, 2, 100);
            c.choice("category", &m.category, &CATEGORIES);
            c.choice("difficulty", &m.difficulty, &DIFFICULTIES);
            c.choice("equipment_type", &m.equipment_type, &EQUIPMENT_TYPES);
            c.list("primary_muscles", &m.primary_muscles, 1, 10);
            c.list("secondary_muscles", &m.secondary_muscles, 0, 10);
            c.list("setup_steps", &m.setup_steps, 1, 12);
            c.list("how_to_steps", &m.how_to_steps, 1, 12);
            c.list("common_mistakes", &m.common_mistakes, 0, 12);
            c.list("safety_tips", &m.safety_tips, 1, 12);
            c.list("beginner_tips", &m.beginner_tips, 0, 12);
            c.list("tags", &m.tags, 0, 12);
            c.list("synonyms", &m.synonyms, 0, 20);
            c.list("visual_cues", &m.visual_cues, 0, 20);
            for (field, value) in [
                ("thumbnail_url", &m.thumbnail_url),
                ("image_url", &m.image_url),
                ("video_url", &m.video_url),
                ("muscle_diagram_url", &m.muscle_diagram_url),
            ] {
                c.url(field, value);
            }
            if !m.metadata.is_object() || m.metadata.to_string().len() > 16 * 1024 {
                c.issue(
                    "metadata",
                    "dict_type",
                    "Input should be an object of at most 16 KiB",
                );
            }
        }
        if c.issues.is_empty() {
            Ok(m)
        } else {
            Err(c.issues)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> MachineFields {
        serde_json::from_value(v).unwrap()
    }

    fn valid() -> Value {
        json!({
            "id": "cable_curl", "name": "Cable Curl", "category": "Arms", "difficulty": "beginner",
            "equipment_type": "cable", "primary_muscles": ["biceps"],
            "setup_steps": ["Set the pulley low."], "how_to_steps": ["Curl up slowly."],
            "safety_tips": ["Keep elbows still."]
        })
    }

    #[test]
    fn a_complete_machine_is_built_and_required_fields_are_named() {
        let m = fields(valid()).apply(None).unwrap();
        assert_eq!((m.id.as_str(), m.is_active), ("cable_curl", true));
        let issues = fields(json!({"name": "X"})).apply(None).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.loc == vec!["body".into(), "id".into()] && i.kind == "missing")
        );
    }

    #[test]
    fn updates_keep_what_they_do_not_name_and_are_validated() {
        let base = fields(valid()).apply(None).unwrap();
        // Any case is accepted and stored as the app spells it.
        assert_eq!(base.difficulty, "Beginner");
        let m = fields(json!({"difficulty": "advanced", "category": "full body"}))
            .apply(Some(&base))
            .unwrap();
        assert_eq!(
            (m.name.as_str(), m.difficulty.as_str(), m.category.as_str()),
            ("Cable Curl", "Advanced", "Full Body")
        );
        let issues = fields(json!({"category": "Legs", "video_url": "ftp://x"}))
            .apply(Some(&base))
            .unwrap_err();
        assert_eq!(issues.len(), 2);
        let issues = fields(json!({"id": "other"}))
            .apply(Some(&base))
            .unwrap_err();
        assert_eq!(issues[0].kind, "frozen_field");
    }
}
