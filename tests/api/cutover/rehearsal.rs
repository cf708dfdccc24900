//! `scripts/rehearse-cutover`, as an operator runs it before the switch: a dump of the live
//! shape made by its generator, restored, checked, migrated, verified, read back through
//! the real binary, rolled back and compared with the dump (small here; docs/cutover.md
//! has the figures at the live database's size).

use std::process::Command;

fn rehearse(args: &[&str]) -> String {
    let output = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/rehearse-cutover"
    ))
    .args(args)
    .env("DATABASE_URL", std::env::var("DATABASE_URL").unwrap())
    .env("MM_BINARY", env!("CARGO_BIN_EXE_machinemate-api"))
    .output()
    .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "rehearse-cutover {args:?}: {said}");
    said
}

#[tokio::test]
async fn the_rehearsal_restores_a_dump_cuts_over_reads_back_rolls_back_and_finds_it_unchanged() {
    let dump = std::env::temp_dir().join(format!("mm-rehearsal-{}.dump", uuid::Uuid::new_v4()));
    let dump = dump.to_str().unwrap();
    rehearse(&["--generate", dump, "--users", "200", "--history", "2000"]);
    let said = rehearse(&[dump, "--sample", "5"]);
    let _ = std::fs::remove_file(dump);
    for expected in [
        "Rehearsed just now, by the same code, then rolled back",
        "5 users read back through the API, each as stored",
        "after the rollback: every row of every FastAPI table and the schema as in the dump",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    for step in [
        "restore",
        "migrate --check",
        "migrate",
        "verify.sql",
        "rollback",
        "compare",
    ] {
        assert!(
            said.lines().any(
                |l| l.starts_with(step) && l.trim_end().ends_with(|c: char| c.is_ascii_digit())
            ),
            "a time for {step}: {said}"
        );
    }
}
