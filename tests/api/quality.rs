//! Identification quality: prompt variants dealt deterministically, a Fireworks stand-in
//! that answers differently per variant, users who correct (or do not), and what
//! `GET /api/v1/metrics/identification`, Prometheus and `machinemate-api eval` make of it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_error, database_url, metric_value, spawn_app_with};
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::fireworks::{FireworksServer, Reply, says, variant_of};

const VARIANTS: &str = "catalog-v2:40,cues-v1:40,describe-v1:20";
const EXPERIMENT: &str = "quality-test";

/// Every photo shows the hack squat. `catalog-v2` always takes it for the leg press;
/// `cues-v1` is right three times in four; `describe-v1` rambles (no JSON) every time.
fn responder() -> impl Fn(&Value) -> Reply + Send + Sync {
    let cues = Arc::new(AtomicUsize::new(0));
    move |request| match variant_of(request) {
        "catalog-v2" => says("Seated Leg Press", 0.9),
        "cues-v1" => {
            if cues.fetch_add(1, Ordering::SeqCst) % 4 == 3 {
                says("Seated Leg Press", 0.65)
            } else {
                says("Hack Squat Machine", 0.85)
            }
        }
        _ => Reply::Content("It looks like a squat machine of some kind.".into()),
    }
}

fn photo(n: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(n % 256) as u8, (x * 5) as u8, (y * 7) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

struct Rig {
    app: TestApp,
    auth: AuthServer,
    fireworks: FireworksServer,
}

async fn rig() -> Rig {
    let fireworks = FireworksServer::start(vec![], says("Unknown", 0.0)).await;
    fireworks.set_responder(responder());
    let auth = AuthServer::start(&[&keys().es256]).await;
    let (fw, au) = (fireworks.env(), auth.env());
    let mut env: Vec<(&str, &str)> = fw
        .iter()
        .chain(au.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    env.push((
        "IDENTIFY_PROMPT_VARIANTS",
        "catalog-v2:40,cues-v1:40,describe-v1:20",
    ));
    env.push(("IDENTIFY_EXPERIMENT", "quality-test"));
    let app = spawn_app_with(&env).await;
    Rig {
        app,
        auth,
        fireworks,
    }
}

impl Rig {
    async fn identify(&self, token: &str, n: u32) -> Value {
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(photo(n)));
        let response = self
            .app
            .request(Method::POST, "/api/v1/identify", token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn trace(&self, token: &str, trace_id: &str) -> Value {
        self.app
            .get_as(&format!("/traces/{trace_id}"), token)
            .await
            .json()
            .await
            .unwrap()
    }

    async fn correct(&self, token: &str, trace_id: &str, source: &str) -> reqwest::Response {
        self.app
            .request(
                Method::POST,
                &format!("/api/v1/identifications/{trace_id}/correction"),
                token,
            )
            .json(&json!({"machine_id": "hack_squat_machine", "source": source}))
            .send()
            .await
            .unwrap()
    }
}

#[derive(Default, Debug, PartialEq)]
struct Expected {
    identifications: i64,
    corrections: i64,
    unknown: i64,
    unusable: i64,
    /// Identifications of users who corrected something, and their corrections.
    of_correcting: i64,
}

#[tokio::test]
async fn each_variant_earns_its_own_accuracy_and_the_metrics_say_so() {
    let r = rig().await;
    // Twelve users, four of each variant (picked with the service's own dealing, which
    // the traces must agree with), four photos each, one after another; every third
    // user never corrects.
    let variants = machinemate_api::vision::variants::parse(VARIANTS).unwrap();
    let mut dealt: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for i in 1u128.. {
        let id = Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 + i);
        let v = machinemate_api::vision::variants::assign(EXPERIMENT, &id.to_string(), &variants);
        let users = dealt.entry(v.name).or_default();
        if users.len() < 4 {
            users.push(id);
        }
        if dealt.len() == 3 && dealt.values().all(|u| u.len() == 4) {
            break;
        }
    }
    let users: Vec<(Uuid, &str)> = dealt
        .iter()
        .flat_map(|(v, ids)| ids.iter().map(move |id| (*id, *v)))
        .collect();
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    let mut photo_n = 0;
    let mut last_wrong = None;
    for (u, (user, dealt_variant)) in users.into_iter().enumerate() {
        sqlx::query("insert into auth.users (id, email) values ($1, $2)")
            .bind(user)
            .bind(format!("{}@example.com", user.simple()))
            .execute(&r.app.db)
            .await
            .unwrap();
        let token = r.auth.token(&keys().es256, user, json!({}));
        let corrects = u % 3 != 2;
        let mut variant = None;
        let (mut mine, mut wrong) = (0, 0);
        for _ in 0..4 {
            photo_n += 1;
            let answer = r.identify(&token, photo_n).await;
            let trace_id = answer["trace_id"].as_str().unwrap().to_owned();
            let trace = r.trace(&token, &trace_id).await;
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
                let recorded = r.correct(&token, &trace_id, source).await;
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
        r.correct(&token, &trace_id, "favorites").await.status(),
        201
    );
    let (count, source): (i64, String) = sqlx::query_as(
        "select count(*), max(source) from identification_corrections where trace_id = $1",
    )
    .bind(&trace_id)
    .fetch_one(&r.app.db)
    .await
    .unwrap();
    assert_eq!((count, source.as_str()), (1, "favorites"));

    // One request the model could not answer: an upstream error, not an identification.
    r.fireworks.set_responder(|_| Reply::Status(400));
    let user = r.app.sign_up().await;
    let token = r.auth.token(&keys().es256, user, json!({}));
    let form =
        reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(photo(999)));
    let failed = r
        .app
        .request(Method::POST, "/api/v1/identify", &token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let failed_variant: String = sqlx::query_scalar(
        "select prompt_variant from identification_events where failure = 'upstream'",
    )
    .fetch_one(&r.app.db)
    .await
    .unwrap();

    let admin = r.auth.token(
        &keys().es256,
        r.app.sign_up().await,
        json!({"app_metadata": {"role": "admin"}}),
    );
    let metrics: Value = r
        .app
        .get_as("/api/v1/metrics/identification", &admin)
        .await
        .json()
        .await
        .unwrap();
    eprintln!(
        "quality: {}",
        serde_json::to_string_pretty(&metrics).unwrap()
    );
    let variants = metrics["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    for row in variants {
        let name = row["prompt_variant"].as_str().unwrap();
        let e = &expected[name];
        let near = |field: &str, value: f64| {
            let got = row[field].as_f64().unwrap_or(f64::NAN);
            assert!(
                (got - value).abs() < 1e-9,
                "{name} {field}: {got}, expected {value}"
            );
        };
        assert_eq!(row["identifications"], e.identifications, "{name}");
        assert_eq!(row["corrections"], e.corrections, "{name}");
        near(
            "accuracy",
            1.0 - e.corrections as f64 / e.identifications as f64,
        );
        if e.of_correcting > 0 {
            near(
                "accuracy_among_correcting_users",
                1.0 - e.corrections as f64 / e.of_correcting as f64,
            );
        }
        near("unknown_rate", e.unknown as f64 / e.identifications as f64);
        assert_eq!(row["unusable_answers"], e.unusable, "{name}");
        assert_eq!(
            row["upstream_errors"],
            i64::from(name == failed_variant),
            "{name}"
        );
        assert!(row["latency_p95_ms"].as_f64().unwrap() >= row["latency_p50_ms"].as_f64().unwrap());
        let calibration = row["calibration"].as_array().unwrap();
        let counted: i64 = calibration
            .iter()
            .map(|b| b["identifications"].as_i64().unwrap())
            .sum();
        assert_eq!(
            counted, e.identifications,
            "{name}: every answer in a bucket"
        );
    }
    let by_name = |name: &str| {
        variants
            .iter()
            .find(|v| v["prompt_variant"] == name)
            .unwrap()
    };
    // The variant that is always wrong is never right, however confident.
    assert_eq!(by_name("catalog-v2")["confidence_median"], 0.9_f32 as f64);
    // A confidence of 0.9 is in the 0.9-1.0 bucket (not 0.8, as 0.9's float is a hair under).
    assert_eq!(bucket_of(by_name("catalog-v2"), 0.9)["identifications"], 16);
    let bucket = |name: &str, lower: f64| {
        by_name(name)["calibration"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| (b["lower"].as_f64().unwrap() - lower).abs() < 1e-9)
            .cloned()
    };
    assert_eq!(
        bucket("cues-v1", 0.8).unwrap()["uncorrected_share"],
        1.0,
        "right at 0.85"
    );
    assert!(
        bucket("cues-v1", 0.6).unwrap()["uncorrected_share"]
            .as_f64()
            .unwrap()
            < 1.0
    );
    // What was taken for what.
    let confusions = metrics["confusions"].as_array().unwrap();
    let total: i64 = expected.values().map(|e| e.corrections).sum();
    let counted: i64 = confusions
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, total);
    assert_eq!(confusions[0]["corrected"], "hack_squat_machine");

    // Prometheus: identifications and corrections by variant and model.
    let text = machinemate_api::telemetry::metrics::render(&r.app.app_db());
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

fn bucket_of(variant: &Value, lower: f64) -> Value {
    variant["calibration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| (b["lower"].as_f64().unwrap() - lower).abs() < 1e-9)
        .cloned()
        .unwrap_or_else(|| panic!("no bucket at {lower}: {variant}"))
}

#[tokio::test]
async fn the_metrics_route_is_for_admins_and_windows_are_bounded() {
    let r = rig().await;
    let user = r
        .auth
        .token(&keys().es256, r.app.sign_up().await, json!({}));
    let admin = r.auth.token(
        &keys().es256,
        r.app.sign_up().await,
        json!({"app_metadata": {"role": "admin"}}),
    );
    assert_error(
        r.app.get_as("/api/v1/metrics/identification", &user).await,
        403,
        "forbidden",
    )
    .await;
    for query in [
        "from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
        "from=2026-06-01T00:00:00Z&to=2026-05-01T00:00:00Z",
        "from=yesterday",
    ] {
        let response = r
            .app
            .get_as(&format!("/api/v1/metrics/identification?{query}"), &admin)
            .await;
        assert_error(response, 422, "validation_error").await;
    }
    let empty: Value = r
        .app
        .get_as(
            "/api/v1/metrics/identification?from=2026-01-01T00:00:00Z&to=2026-03-31T00:00:00Z",
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            empty["variants"].as_array().unwrap().len(),
            empty["confusions"].as_array().unwrap().len()
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn refused_answers_are_recorded_with_why() {
    let r = rig().await;
    r.fireworks
        .set_responder(|_| Reply::Refusal("I can't help with identifying that.".into()));
    let token = r
        .auth
        .token(&keys().es256, r.app.sign_up().await, json!({}));
    let answer = r.identify(&token, 1).await;
    assert_eq!(answer["machine"], "Unknown");
    let trace = r.trace(&token, answer["trace_id"].as_str().unwrap()).await;
    assert_eq!(trace["failure"], "refused", "{trace}");
}

#[tokio::test]
async fn eval_runs_every_variant_over_labelled_photos_and_reports_accuracy_and_cost() {
    let fireworks = FireworksServer::start(vec![], says("Unknown", 0.0)).await;
    // Per variant, one fixed answer: catalog-v2 always says the leg press, cues-v1 the
    // hack squat.
    fireworks.set_responder(|request| match variant_of(request) {
        "catalog-v2" => says("Seated Leg Press", 0.9),
        _ => says("Hack Squat Machine", 0.8),
    });
    let dir = std::env::temp_dir().join(format!("mm-eval-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, truth) in [
        "hack_squat_machine",
        "hack_squat_machine",
        "hack_squat_machine",
        "leg_press",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(dir.join(format!("{truth}-{i}.png")), photo(i as u32)).unwrap();
    }
    let report_path = dir.join("report.json");
    let database = crate::helpers::fresh_database().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_machinemate-api"))
        .args(["eval", "--photos"])
        .arg(&dir)
        .arg("--json")
        .arg(&report_path)
        .env_clear()
        .env("DATABASE_URL", database_url(&database))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .env("IDENTIFY_PROMPT_VARIANTS", "catalog-v2:50,cues-v1:50")
        .envs(fireworks.env())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("eval table:\n{table}");
    assert!(
        table.contains("catalog-v2") && table.contains("accuracy"),
        "{table}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let variant = |name: &str| {
        report["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["variant"] == name)
            .unwrap()
            .clone()
    };
    let (v2, cues) = (variant("catalog-v2"), variant("cues-v1"));
    assert_eq!(
        (v2["correct"].as_u64(), v2["accuracy"].as_f64()),
        (Some(1), Some(0.25))
    );
    assert_eq!(
        (cues["correct"].as_u64(), cues["accuracy"].as_f64()),
        (Some(3), Some(0.75))
    );
    assert_eq!(
        v2["confusions"][0],
        json!({"truth": "hack_squat_machine", "predicted": "leg_press", "count": 3})
    );
    // Cost: catalog-v2's prompt (names only) is the cheaper one; images are reported apart.
    assert!(v2["prompt_tokens"].as_u64().unwrap() < cues["prompt_tokens"].as_u64().unwrap());
    assert_eq!(v2["image_tokens"].as_u64(), Some(4 * 850));
    assert_eq!(fireworks.calls(), 8, "every photo through every variant");
    let _ = std::fs::remove_dir_all(&dir);
}
