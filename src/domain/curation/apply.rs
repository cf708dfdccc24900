//! [`MachineFields::apply`]: fields checked one by one into 422 issues, then merged
//! into a complete machine.

use serde_json::Value;

use super::{EQUIPMENT_TYPES, MachineFields, MachineRecord};
use crate::domain::machine::{CATEGORIES, DIFFICULTIES, canonical};
use crate::domain::machine_id::is_machine_id;
use crate::error::{LocItem, ValidationIssue};

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
            && !crate::domain::is_web_url(u)
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
