//! What operators see: `/metrics` for a Prometheus scrape (`metrics.rs`), Cloud Logging
//! JSON lines with `httpRequest` and the Cloud Trace link, and Sentry events without
//! secrets (`logs.rs`).

mod logs;
mod metrics;

use std::process::{Command, Stdio};

/// `promtool check metrics` on an exposition: the reference check of the text format
/// (and of Prometheus' naming conventions). scripts/test provides promtool.
pub fn promtool_check(text: &str) {
    use std::io::Write;
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{promtool} ({e}): run the tests with scripts/test"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
