use super::*;
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
