//! What every task shares: how much it may remove at once and in one run, and the
//! report it adds to.

use serde::Serialize;

/// Rows one statement removes at most.
pub const BATCH: i64 = 1000;
/// Rows (or objects) one task removes at most in one run.
pub const MAX_ROWS_PER_TASK: u64 = 20_000;

/// What one run did: how many rows or objects each task removed, or why it did nothing.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub removed: Vec<(&'static str, u64)>,
    /// Set when another run held the lock.
    pub skipped: Option<String>,
}

impl Report {
    pub(super) fn record(&mut self, task: &'static str, removed: u64) {
        tracing::info!(task, removed, "maintain: task done");
        self.removed.push((task, removed));
    }
}

/// Runs `batch` (which removes at most [`BATCH`] rows and says how many) until it
/// removes fewer, or the task's bound is reached.
pub(super) async fn in_batches(
    mut batch: impl AsyncFnMut() -> Result<u64, sqlx::Error>,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    while total < MAX_ROWS_PER_TASK {
        let removed = batch().await?;
        total += removed;
        if removed < BATCH as u64 {
            break;
        }
    }
    Ok(total)
}
