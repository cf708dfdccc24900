//! The global daily model budget as identification spends it: a call taken just before
//! the model is asked (none while the circuit is open: nothing would be sent), the tokens
//! the answer cost added after, and the 503 every caller gets once the day's budget is
//! spent. The rest of the app never touches it.

use chrono::{Timelike, Utc};

use super::request::Caller;
use crate::config::ModelBudget;
use crate::db::Db;
use crate::db::identify::budget::{self, ModelCall};
use crate::error::{ApiError, ApiResult};
use crate::telemetry::metrics;
use crate::vision::fireworks::{Fireworks, Usage};

/// Seconds until the next UTC day, when daily allowances and the budget start afresh.
pub fn seconds_until_next_utc_day() -> u64 {
    (86_400 - u64::from(Utc::now().num_seconds_from_midnight())).max(1)
}

/// Takes a call from today's budget before `vision` is asked for `caller`; `None` when
/// the circuit is open (the call would be refused without reaching Fireworks). Once the
/// budget is spent: a 503 with `Retry-After` until the next UTC day.
pub(super) async fn take(
    db: &Db,
    ceiling: ModelBudget,
    vision: &Fireworks,
    caller: &Caller,
    variant: &str,
    model: &str,
) -> ApiResult<Option<ModelCall>> {
    if vision.circuit_open() {
        return Ok(None);
    }
    match budget::take_call(db, ceiling).await? {
        Ok(call) => Ok(Some(call)),
        Err(spent) => {
            metrics::identification("budget_spent", variant, model);
            tracing::warn!(
                refused_by = "model_budget",
                holder = caller.holder_kind,
                budget = spent.as_str(),
                variant,
                model,
                "identification refused"
            );
            Err(ApiError::UnavailableUntil {
                code: "model_budget_spent",
                detail: "Identification is paused until 00:00 UTC: today's model budget is spent"
                    .into(),
                retry_after_secs: seconds_until_next_utc_day(),
            })
        }
    }
}

/// Adds what the model reported a call cost to its day's tokens. A failure to count is
/// logged, not answered: the caller already has their answer.
pub(super) async fn spend(db: &Db, ceiling: ModelBudget, call: Option<ModelCall>, usage: &Usage) {
    let Some(call) = call else { return };
    let tokens = i64::from(usage.prompt_tokens.unwrap_or(0))
        + i64::from(usage.completion_tokens.unwrap_or(0));
    if let Err(e) = budget::add_tokens(db, ceiling, call, tokens).await {
        tracing::warn!(error = %e, tokens, "the model budget's tokens were not counted");
    }
}
