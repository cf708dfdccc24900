//! Who may read the quality report and over which window, why an answer failed, and the
//! offline evaluation over labelled photos.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{photo, quality_app, trace};
use crate::helpers::{assert_error, database_url};
use crate::stand_ins::fireworks::{FireworksServer, Reply, says, variant_of};

#[tokio::test]
async fn the_metrics_route_is_for_admins_and_windows_are_bounded() {
    let app = quality_app().await;
    let user = app.sign_in().await;
    let admin = app.admin_token().await;
    assert_error(
        app.get_as("/api/v1/metrics/identification", &user).await,
        403,
        "forbidden",
    )
    .await;
    for query in [
        "from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z",
        "from=2026-06-01T00:00:00Z&to=2026-05-01T00:00:00Z",
        "from=yesterday",
    ] {
        let response = app
            .get_as(&format!("/api/v1/metrics/identification?{query}"), &admin)
            .await;
        assert_error(response, 422, "validation_error").await;
    }
    let empty: Value = app
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
    let app = quality_app().await;
    app.fireworks()
        .set_responder(|_| Reply::Refusal("I can't help with identifying that.".into()));
    let token = app.sign_in().await;
    let answer = app.identified(&token, photo(1)).await;
    assert_eq!(answer["machine"], "Unknown");
    let trace = trace(&app, &token, answer["trace_id"].as_str().unwrap()).await;
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
    let output = crate::binary::command()
        .args(["eval", "--photos"])
        .arg(&dir)
        .arg("--json")
        .arg(&report_path)
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
