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
