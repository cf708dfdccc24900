//! What operating the service relies on: a misconfigured model budget stops start-up
//! (`budget_config.rs`); migrations give up on a lock or a long statement instead of
//! stalling the serving revision (`migration_limits.rs`); `verify` tells whether a
//! database (a restored backup) is one this build can serve (`verify.rs`).

mod budget_config;
mod migration_limits;
mod verify;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `args` and exactly `env`, killing it after `patience`: `None`
/// when it had to be killed.
pub fn run_within(args: &[&str], env: &[(&str, &str)], patience: Duration) -> Option<Output> {
    let mut child = crate::binary::command()
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
