//! A global model budget that could not bound anything, or that one caller's allowance
//! would exhaust, stops start-up with one line naming the variable.

use std::time::Duration;

use super::run_within;

#[test]
fn a_zero_negative_or_too_small_model_budget_stops_start_up_with_one_line() {
    for (setting, expected) in [
        (
            ("IDENTIFY_MODEL_DAILY_CALLS", "0"),
            "IDENTIFY_MODEL_DAILY_CALLS must be at least 1",
        ),
        (
            ("IDENTIFY_MODEL_DAILY_CALLS", "-5"),
            "IDENTIFY_MODEL_DAILY_CALLS must be at least 1",
        ),
        (
            ("IDENTIFY_MODEL_DAILY_TOKENS", "0"),
            "IDENTIFY_MODEL_DAILY_TOKENS must be at least 1",
        ),
        (
            ("IDENTIFY_MODEL_DAILY_TOKENS", "-1"),
            "IDENTIFY_MODEL_DAILY_TOKENS must be at least 1",
        ),
        // Below the default signed-in allowance of 50 a day.
        (
            ("IDENTIFY_MODEL_DAILY_CALLS", "30"),
            "IDENTIFY_MODEL_DAILY_CALLS (30) is below IDENTIFY_DAILY_LIMIT (50)",
        ),
        (
            ("IDENTIFY_MODEL_DAILY_CALLS", "many"),
            "IDENTIFY_MODEL_DAILY_CALLS is invalid",
        ),
    ] {
        let env = [("DATABASE_URL", "postgres://u:p@127.0.0.1:1/db"), setting];
        let output =
            run_within(&["serve"], &env, Duration::from_secs(20)).expect("start-up stops at once");
        assert_eq!(output.status.code(), Some(2), "{setting:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{setting:?}: {stderr}");
        assert!(stderr.contains(expected), "{setting:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{setting:?}: nothing served");
    }
}

#[test]
fn a_budget_below_a_raised_anonymous_allowance_is_refused_too() {
    let env = [
        ("DATABASE_URL", "postgres://u:p@127.0.0.1:1/db"),
        ("IDENTIFY_DAILY_LIMIT", "5"),
        ("IDENTIFY_ANONYMOUS_DAILY_LIMIT", "40"),
        ("IDENTIFY_MODEL_DAILY_CALLS", "20"),
    ];
    let output = run_within(&["serve"], &env, Duration::from_secs(20)).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is below IDENTIFY_ANONYMOUS_DAILY_LIMIT (40)"),
        "{stderr}"
    );
}
