//! The global daily model budget and the stricter allowance of anonymous sign-ins, read
//! and checked against the per-caller allowances they must hold.

use super::problem::ConfigError;
use super::settings::ModelBudget;
use super::vars::Vars;

/// Calls and tokens all instances together may spend on the model per UTC day.
pub(super) const DEFAULT_MODEL_BUDGET: ModelBudget = ModelBudget {
    calls: 5_000,
    tokens: 25_000_000,
};
/// A Supabase anonymous sign-in costs nothing to make, so it gets less than an account.
pub(super) const DEFAULT_ANONYMOUS_USER_DAILY_LIMIT: i32 = 10;

/// The per-caller daily allowances the budget must cover.
pub(super) struct Allowances {
    pub user: i32,
    pub anonymous_user: i32,
    pub address: i32,
}

/// `IDENTIFY_MODEL_DAILY_CALLS` and `IDENTIFY_MODEL_DAILY_TOKENS`: each at least 1, and
/// the calls at least any one caller's daily allowance (else one caller could spend the
/// whole day's budget, and the allowance would be a promise the budget cannot keep).
pub(super) fn model_budget<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    allowances: &Allowances,
) -> Result<ModelBudget, ConfigError> {
    let calls: i64 = vars.parsed("IDENTIFY_MODEL_DAILY_CALLS", DEFAULT_MODEL_BUDGET.calls)?;
    let tokens: i64 = vars.parsed("IDENTIFY_MODEL_DAILY_TOKENS", DEFAULT_MODEL_BUDGET.tokens)?;
    for (name, value) in [
        ("IDENTIFY_MODEL_DAILY_CALLS", calls),
        ("IDENTIFY_MODEL_DAILY_TOKENS", tokens),
    ] {
        if value < 1 {
            return Err(ConfigError {
                name,
                problem: format!(
                    "must be at least 1 (got {value}): it bounds what identification may spend on the model per UTC day"
                ),
            });
        }
    }
    let largest = [
        ("IDENTIFY_DAILY_LIMIT", allowances.user),
        (
            "IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT",
            allowances.anonymous_user,
        ),
        ("IDENTIFY_ANONYMOUS_DAILY_LIMIT", allowances.address),
    ]
    .into_iter()
    .max_by_key(|(_, limit)| *limit)
    .expect("three allowances");
    if calls < i64::from(largest.1) {
        return Err(ConfigError {
            name: "IDENTIFY_MODEL_DAILY_CALLS",
            problem: format!(
                "({calls}) is below {} ({}): one caller could spend the whole day's model budget",
                largest.0, largest.1
            ),
        });
    }
    Ok(ModelBudget { calls, tokens })
}
