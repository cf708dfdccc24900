//! The global daily model budget: calls and tokens per UTC day across every instance, in
//! one row per day (`identification_model_budget`), so the ceiling is exact however many
//! instances serve, as the per-user allowances are.
//!
//! A call is taken, atomically and only while both calls and tokens are under their
//! ceilings, just before the model is asked; the tokens it cost are added once it
//! answers. The calls ceiling is exact. The tokens ceiling stops every call after the one
//! that reaches it, so it is overshot by at most what the calls in flight at that moment
//! cost (each bounded by its prompt and `max_tokens`).

use chrono::NaiveDate;

use crate::config::ModelBudget;
use crate::db::Db;
use crate::db::query::Statements;

const TAKE_CALL: &str = "insert into public.identification_model_budget (day, calls) \
     values ((now() at time zone 'utc')::date, 1) \
     on conflict (day) do update set calls = identification_model_budget.calls + 1 \
     where identification_model_budget.calls < $1 and identification_model_budget.tokens < $2 \
     returning day, calls";
const TODAY: &str = "select calls, tokens from public.identification_model_budget \
     where day = (now() at time zone 'utc')::date";
const ADD_TOKENS: &str = "update public.identification_model_budget set tokens = tokens + $2 \
     where day = $1 returning tokens";

/// Which ceiling was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Calls,
    Tokens,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Calls => "calls",
            Budget::Tokens => "tokens",
        }
    }
}

/// A call taken from the day's budget: the day it counts against, and how many calls
/// that day now holds.
#[derive(Debug, Clone, Copy)]
pub struct ModelCall {
    pub day: NaiveDate,
    pub calls: i64,
}

/// Shares of a ceiling that are logged when a call or its tokens cross them (once each:
/// every increment is a single row update, so exactly one call crosses each share).
pub const WARN_AT_PERCENT: [i64; 2] = [80, 100];

/// Takes one model call from today's budget; `Err(budget)` names the ceiling reached.
pub async fn take_call(
    db: &Db,
    budget: ModelBudget,
) -> Result<Result<ModelCall, Budget>, sqlx::Error> {
    let taken: Option<(NaiveDate, i64)> = db
        .with_conn(async |c| {
            db.query_as(TAKE_CALL)
                .bind(budget.calls)
                .bind(budget.tokens)
                .fetch_optional(c)
                .await
        })
        .await?;
    if let Some((day, calls)) = taken {
        let call = ModelCall { day, calls };
        for percent in crossed(call.calls - 1, call.calls, budget.calls) {
            log_crossing(Budget::Calls, percent, call.calls, budget.calls);
        }
        return Ok(Ok(call));
    }
    let today: Option<(i64, i64)> = db
        .with_conn(async |c| db.query_as(TODAY).fetch_optional(c).await)
        .await?;
    let (calls, _tokens) = today.unwrap_or_default();
    Ok(Err(if calls >= budget.calls {
        Budget::Calls
    } else {
        Budget::Tokens
    }))
}

/// Adds what a call cost to its day's tokens.
pub async fn add_tokens(
    db: &Db,
    budget: ModelBudget,
    call: ModelCall,
    tokens: i64,
) -> Result<(), sqlx::Error> {
    if tokens <= 0 {
        return Ok(());
    }
    let total: Option<i64> = db
        .with_conn(async |c| {
            db.query_scalar(ADD_TOKENS)
                .bind(call.day)
                .bind(tokens)
                .fetch_optional(c)
                .await
        })
        .await?;
    if let Some(total) = total {
        for percent in crossed(total - tokens, total, budget.tokens) {
            log_crossing(Budget::Tokens, percent, total, budget.tokens);
        }
    }
    Ok(())
}

/// The shares of `limit` that going from `before` to `after` crossed.
fn crossed(before: i64, after: i64, limit: i64) -> impl Iterator<Item = i64> {
    WARN_AT_PERCENT.into_iter().filter(move |percent| {
        // The smallest amount that is `percent` of the limit (rounded up).
        let mark = (limit * percent + 99) / 100;
        before < mark && mark <= after
    })
}

/// `percent` is written as text ("80", "100"): it is a label of the log-based metric, and
/// a JSON number would reach Cloud Logging as a double.
fn log_crossing(budget: Budget, percent: i64, used: i64, limit: i64) {
    tracing::warn!(
        budget = budget.as_str(),
        percent = %percent,
        used,
        limit,
        "model budget threshold crossed"
    );
}

#[cfg(test)]
mod tests {
    use super::crossed;

    #[test]
    fn each_share_is_crossed_by_exactly_one_step() {
        let limit = 10;
        let mut crossings = Vec::new();
        for used in 1..=12 {
            crossings.extend(crossed(used - 1, used, limit).map(|p| (used, p)));
        }
        assert_eq!(crossings, vec![(8, 80), (10, 100)]);
        // A large step (a call's tokens) may cross both at once.
        assert_eq!(
            crossed(100, 5_000, 1_000).collect::<Vec<_>>(),
            vec![80, 100]
        );
        assert_eq!(crossed(0, 799, 1_000).count(), 0);
        assert_eq!(crossed(0, 800, 1_000).collect::<Vec<_>>(), vec![80]);
        // A ceiling of 1: the first call is both 80 % and 100 % of it.
        assert_eq!(crossed(0, 1, 1).collect::<Vec<_>>(), vec![80, 100]);
    }
}
