//! Twelve users, four of each variant, identify and correct; each variant's accuracy,
//! calibration and confusions are what they did.

use std::collections::BTreeMap;

use machinemate_api::routes::metrics::IdentificationMetrics;
use machinemate_api::routes::metrics::quality::{CalibrationBucket, VariantMetrics};
use serde_json::Value;
use uuid::Uuid;

use super::{EXPERIMENT, VARIANTS, correct, photo, quality_app, trace};
use crate::helpers::{answer, metric_value};
use crate::stand_ins::fireworks::Reply;

#[derive(Default, Debug, PartialEq)]
struct Expected {
    identifications: i64,
    corrections: i64,
    unknown: i64,
    unusable: i64,
    /// Identifications of users who corrected something, and their corrections.
    of_correcting: i64,
}

/// Twelve users, four of each variant, picked with the service's own dealing (which the
/// traces must agree with).
fn dealt_users() -> Vec<(Uuid, &'static str)> {
    let variants = machinemate_api::config::variants::parse(VARIANTS).unwrap();
    let mut dealt: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for i in 1u128.. {
        let id = Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 + i);
        let v = machinemate_api::vision::variants::assign(EXPERIMENT, &id.to_string(), &variants);
        let users = dealt.entry(v.name()).or_default();
        if users.len() < 4 {
            users.push(id);
        }
        if dealt.len() == 3 && dealt.values().all(|u| u.len() == 4) {
            break;
        }
    }
    dealt
        .iter()
        .flat_map(|(v, ids)| ids.iter().map(move |id| (*id, *v)))
        .collect()
}

#[tokio::test]
async fn each_variant_earns_its_own_accuracy_and_the_metrics_say_so() {
    let app = quality_app().await;
    // Twelve users, four of each variant, four photos each, one after another; every
    // third user never corrects.
    let users = dealt_users();
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    let mut photo_n = 0;
    let mut last_wrong = None;
    for (u, (user, dealt_variant)) in users.into_iter().enumerate() {
        sqlx::query("insert into auth.users (id, email) values ($1, $2)")
            .bind(user)
            .bind(format!("{}@example.com", user.simple()))
            .execute(&app.db)
            .await
            .unwrap();
        let token = app.token_for(user);
        let corrects = u % 3 != 2;
        let mut variant = None;
        let (mut mine, mut wrong) = (0, 0);
        for _ in 0..4 {
            photo_n += 1;
            let answer = app.identified(&token, photo(photo_n)).await;
            let trace_id = answer["trace_id"].as_str().unwrap().to_owned();
            let trace = trace(&app, &token, &trace_id).await;
            let v = trace["prompt_variant"].as_str().unwrap().to_owned();
            assert_eq!(
                variant.get_or_insert(v.clone()),
                &v,
                "one person, one variant"
            );
            assert_eq!(trace["model"], "accounts/fireworks/models/test-vision");
            let e = expected.entry(v.clone()).or_default();
            e.identifications += 1;
            mine += 1;
            if answer["machine_id"].is_null() {
                e.unknown += 1;
                assert_eq!(trace["failure"], "unparseable", "why is recorded: {trace}");
                e.unusable += 1;
            } else {
                assert!(trace["failure"].is_null());
                assert!(trace["prompt_tokens"].as_i64().unwrap() > 850, "{trace}");
            }
            if answer["machine_id"] != "hack_squat_machine" && corrects {
                let source = if wrong % 2 == 0 { "picker" } else { "history" };
                let recorded = correct(&app, &token, &trace_id, source).await;
                assert_eq!(recorded.status(), 201);
                let recorded: Value = recorded.json().await.unwrap();
                assert_eq!(recorded["source"], source);
                assert!(recorded["time_to_correction_ms"].as_i64().unwrap() >= 0);
                e.corrections += 1;
                wrong += 1;
                last_wrong = Some((token.clone(), trace_id));
            }
        }
        assert_eq!(
            variant.as_deref(),
            Some(dealt_variant),
            "the service deals users as variants::assign does"
        );
        if wrong > 0 {
            expected
                .get_mut(variant.as_deref().unwrap())
                .unwrap()
                .of_correcting += mine;
        }
    }
    // All three variants were dealt.
    assert_eq!(expected.len(), 3, "{expected:?}");

    // A second correction replaces the first: its source too.
    let (token, trace_id) = last_wrong.unwrap();
    assert_eq!(
        correct(&app, &token, &trace_id, "favorites").await.status(),
        201
    );
    let (count, source): (i64, String) = sqlx::query_as(
        "select count(*), max(source) from identification_corrections where trace_id = $1",
    )
    .bind(&trace_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((count, source.as_str()), (1, "favorites"));

    // One request the model could not answer: an upstream error, not an identification.
    app.fireworks().set_responder(|_| Reply::Status(400));
    let token = app.sign_in().await;
    let failed = app.identify(&token, photo(999)).await;
    assert_eq!(failed.status(), 503);
    let failed_variant: String = sqlx::query_scalar(
        "select prompt_variant from identification_events where failure = 'upstream'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();

    let admin = app.admin_token().await;
    let metrics: IdentificationMetrics = answer(
        app.get_as("/api/v1/metrics/identification", &admin).await,
        200,
    )
    .await;
    eprintln!("quality: {metrics:#?}");
    let variants = &metrics.variants;
    assert_eq!(variants.len(), 3);
    for row in variants {
        let name = row.prompt_variant.as_str();
        assert_variant_row(row, &expected[name], name == failed_variant);
    }
    let by_name = |name: &str| variants.iter().find(|v| v.prompt_variant == name).unwrap();
    // The variant that is always wrong is never right, however confident.
    assert_eq!(
        by_name("catalog-v2").confidence_median,
        Some(0.9_f32 as f64)
    );
    // A confidence of 0.9 is in the 0.9-1.0 bucket (not 0.8, as 0.9's float is a hair under).
    assert_eq!(bucket_of(by_name("catalog-v2"), 0.9).identifications, 16);
    assert_eq!(
        bucket_of(by_name("cues-v1"), 0.8).uncorrected_share,
        1.0,
        "right at 0.85"
    );
    assert!(bucket_of(by_name("cues-v1"), 0.6).uncorrected_share < 1.0);
    // What was taken for what.
    let confusions = &metrics.confusions;
    let total: i64 = expected.values().map(|e| e.corrections).sum();
    let counted: i64 = confusions.iter().map(|c| c.count).sum();
    assert_eq!(counted, total);
    assert_eq!(confusions[0].corrected, "hack_squat_machine");

    // Prometheus: identifications and corrections by variant and model.
    let text = machinemate_api::telemetry::metrics::render(app.app_db().pool());
    let model = "accounts/fireworks/models/test-vision";
    let cues = &expected["cues-v1"];
    assert!(
        metric_value(
            &text,
            &format!(
                r#"machinemate_identification_corrections_total{{model="{model}",variant="cues-v1"}}"#
            )
        ) >= cues.corrections as f64
    );
    assert!(
        metric_value(
            &text,
            &format!(
                r#"machinemate_identifications_total{{model="{model}",outcome="matched",variant="catalog-v2"}}"#
            )
        ) >= expected["catalog-v2"].identifications as f64
    );
}

/// A variant's row of the report against what its users did.
fn assert_variant_row(row: &VariantMetrics, e: &Expected, failed_upstream: bool) {
    let name = &row.prompt_variant;
    let near = |field: &str, got: Option<f64>, value: f64| {
        let got = got.unwrap_or(f64::NAN);
        assert!(
            (got - value).abs() < 1e-9,
            "{name} {field}: {got}, expected {value}"
        );
    };
    assert_eq!(row.identifications, e.identifications, "{name}");
    assert_eq!(row.corrections, e.corrections, "{name}");
    near(
        "accuracy",
        row.accuracy,
        1.0 - e.corrections as f64 / e.identifications as f64,
    );
    if e.of_correcting > 0 {
        near(
            "accuracy_among_correcting_users",
            row.accuracy_among_correcting_users,
            1.0 - e.corrections as f64 / e.of_correcting as f64,
        );
    }
    near(
        "unknown_rate",
        row.unknown_rate,
        e.unknown as f64 / e.identifications as f64,
    );
    assert_eq!(row.unusable_answers, e.unusable, "{name}");
    assert_eq!(row.upstream_errors, i64::from(failed_upstream), "{name}");
    assert!(row.latency_p95_ms.unwrap() >= row.latency_p50_ms.unwrap());
    let counted: i64 = row.calibration.iter().map(|b| b.identifications).sum();
    assert_eq!(
        counted, e.identifications,
        "{name}: every answer in a bucket"
    );
}

fn bucket_of(variant: &VariantMetrics, lower: f64) -> &CalibrationBucket {
    variant
        .calibration
        .iter()
        .find(|b| (b.lower - lower).abs() < 1e-9)
        .unwrap_or_else(|| panic!("no bucket at {lower}: {variant:?}"))
}
