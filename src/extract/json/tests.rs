use super::*;
use crate::domain::bounded::{Batch, Confidence, Notes};
use actix_web::test::TestRequest;
use serde::Deserialize;

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFavorite {
    machine_id: String,
    notes: Option<String>,
    tags: Option<Vec<u8>>,
}

fn issues(body: &str) -> Vec<ValidationIssue> {
    match parse_body::<NewFavorite>(body.as_bytes()) {
        Err(ApiError::Validation(issues)) => issues,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn malformed_json_is_a_located_decode_error() {
    let issue = &issues(r#"{"machine_id": "#)[0];
    assert_eq!(issue.kind, "json_invalid");
    assert_eq!(issue.loc[0], LocItem::Key("body".into()));
    assert!(matches!(issue.loc[1], LocItem::Index(_)));
    assert_eq!(
        issues(r#"{"machine_id": "a"} trailing"#)[0].kind,
        "json_invalid"
    );
}

#[test]
fn nul_characters_are_refused_but_escaped_backslashes_are_not() {
    let issue = &issues(r#"{"machine_id": "a\u0000b"}"#)[0];
    assert_eq!(issue.kind, "string_nul");
    assert_eq!(
        issues(r#"{"machine_id": "x", "notes": "\\\u0000"}"#)[0].kind,
        "string_nul"
    );
    let ok: NewFavorite = parse_body(br#"{"machine_id": "a\\u0000b"}"#).unwrap();
    assert_eq!(ok.machine_id, "a\\u0000b");
}

#[test]
fn only_objects_are_bodies() {
    for body in [r#"["leg_press", null]"#, "null", r#""x""#, "3"] {
        assert_eq!(issues(body)[0].kind, "model_attributes_type", "{body}");
    }
}

#[test]
fn wrong_types_point_at_the_field() {
    let issue = &issues(r#"{"machine_id": 5}"#)[0];
    assert_eq!(issue.kind, "type_error");
    assert_eq!(issue.loc, vec!["body".into(), "machine_id".into()]);
    let issue = &issues(r#"{"machine_id": "x", "tags": [1, "a"]}"#)[0];
    assert_eq!(
        issue.loc,
        vec!["body".into(), "tags".into(), LocItem::Index(1)]
    );
}

#[test]
fn missing_and_unknown_fields_are_named() {
    let issue = &issues(r#"{"notes": "hi"}"#)[0];
    assert_eq!(
        (issue.kind.as_str(), issue.msg.as_str()),
        ("missing", "Field required")
    );
    assert_eq!(issue.loc, vec!["body".into(), "machine_id".into()]);
    let issue = &issues(r#"{"machine_id": "x", "colour": 1}"#)[0];
    assert_eq!(issue.kind, "extra_forbidden");
    assert_eq!(issue.loc, vec!["body".into(), "colour".into()]);
    assert_eq!(issues("  ")[0].kind, "missing");
}

/// A body of bounded fields, as `HistoryCreate` is.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    machine_id: String,
    #[serde(default)]
    confidence: Option<Confidence>,
    #[serde(default)]
    entries: Option<Batch<Entry>>,
    #[serde(default)]
    notes: Option<Notes>,
}

fn entry_issues(body: &str) -> Vec<(Vec<LocItem>, String)> {
    match parse_body::<Entry>(body.as_bytes()) {
        Err(ApiError::Validation(issues)) => issues.into_iter().map(|i| (i.loc, i.kind)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn every_refused_value_of_a_body_is_reported_where_it_is() {
    let at = |path: &[&str]| -> Vec<LocItem> {
        std::iter::once("body")
            .chain(path.iter().copied())
            .map(LocItem::from)
            .collect()
    };
    let long = "n".repeat(Notes::MAX_CHARS + 1);
    let body = format!(r#"{{"notes": "{long}", "machine_id": "x", "confidence": 2}}"#);
    assert_eq!(
        entry_issues(&body),
        [
            (at(&["notes"]), "string_too_long".into()),
            (at(&["confidence"]), "less_than_equal".into()),
        ]
    );
    // Inside a list, and the list's own length once its items read.
    let body = r#"{"machine_id": "x", "entries": [{"machine_id": "y", "confidence": -1}]}"#;
    let mut inner = at(&["entries"]);
    inner.extend([LocItem::Index(0), "confidence".into()]);
    assert_eq!(entry_issues(body), [(inner, "greater_than_equal".into())]);
    assert_eq!(
        entry_issues(r#"{"machine_id": "x", "entries": []}"#),
        [(at(&["entries"]), "too_long".into())]
    );
}

#[test]
fn a_body_of_refused_values_lists_the_first_32() {
    // 100 entries with two refused values each: 200 refusals, each found by reading the
    // body again; the answer lists 32 (each index's confidence first, in body order).
    let entry = r#"{"machine_id": "y", "confidence": -1, "notes": null}"#;
    let entries = vec![entry; 100].join(", ");
    let body = format!(r#"{{"machine_id": "x", "confidence": 5, "entries": [{entries}]}}"#);
    let issues = entry_issues(&body);
    assert_eq!(issues.len(), 32);
    assert!(
        issues
            .iter()
            .all(|(_, kind)| kind.starts_with("greater_than") || kind.starts_with("less_than"))
    );
}

#[test]
fn a_wrong_type_missing_field_or_syntax_error_is_reported_alone_as_before() {
    let long = "n".repeat(Notes::MAX_CHARS + 1);
    let missing = format!(r#"{{"notes": "{long}"}}"#);
    assert_eq!(
        entry_issues(&missing)[..],
        [(vec!["body".into(), "machine_id".into()], "missing".into())]
    );
    let wrong = format!(r#"{{"notes": "{long}", "machine_id": 5}}"#);
    assert_eq!(entry_issues(&wrong)[0].1, "type_error");
    assert_eq!(entry_issues(&wrong).len(), 1);
    let trailing = format!(r#"{{"notes": "{long}", "machine_id": "x"}} x"#);
    assert_eq!(entry_issues(&trailing)[0].1, "json_invalid");
    let nul = format!(r#"{{"notes": "{long}\u0000", "machine_id": "x"}}"#);
    assert_eq!(entry_issues(&nul)[0].1, "string_nul");
}

#[actix_web::test]
async fn content_type_and_size_are_checked() {
    let (req, mut payload) = TestRequest::post()
        .insert_header(("content-type", "text/plain"))
        .set_payload(r#"{"machine_id":"a"}"#)
        .to_http_parts();
    let err = ApiJson::<NewFavorite>::from_request(&req, &mut payload)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::UnsupportedMediaType(_)));

    let big = format!(r#"{{"machine_id":"{}"}}"#, "a".repeat(100));
    let (req, mut payload) = TestRequest::post()
        .insert_header(("content-type", "application/json"))
        .app_data(JsonLimit(64))
        .set_payload(big)
        .to_http_parts();
    let err = ApiJson::<NewFavorite>::from_request(&req, &mut payload)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::PayloadTooLarge(_)));

    let (req, mut payload) = TestRequest::post()
        .insert_header(("content-type", "application/json; charset=utf-8"))
        .set_payload(r#"{"machine_id":"leg_press","notes":null}"#)
        .to_http_parts();
    let ok = ApiJson::<NewFavorite>::from_request(&req, &mut payload)
        .await
        .unwrap();
    assert_eq!(ok.machine_id, "leg_press");
}
