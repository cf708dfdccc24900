//! What each prompt variant and model earns (`GET /api/v1/metrics/identification`), from
//! the identifications and the corrections users made of them, in two queries over a
//! time window of `identification_events.created_at` (indexed).
//!
//! Counted: identifications that reached the model or the cache (not mocked, not
//! refused upstream). A correction is the owner's word that the answer was wrong, so
//! accuracy is `1 - corrected / identifications`; among users who corrected anything it
//! is the same over those users' identifications alone (users who never correct make
//! the plain figure look better than it is).

use super::query::Statements;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;

/// One bucket of confidence (0.1 wide) against the share of answers nobody corrected:
/// a well-calibrated variant's share is about its confidence.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CalibrationRow {
    pub lower: f64,
    pub upper: f64,
    pub identifications: i64,
    pub uncorrected_share: f64,
}

#[derive(Debug, FromRow)]
pub struct VariantRow {
    pub prompt_variant: String,
    pub model: String,
    pub identifications: i64,
    pub corrections: i64,
    /// `1 - corrections / identifications`.
    pub accuracy: Option<f64>,
    /// Signed-in users who identified.
    pub users: i64,
    /// Users who corrected at least one of their identifications.
    pub correcting_users: i64,
    /// Accuracy over the identifications of users who corrected anything.
    pub accuracy_among_correcting_users: Option<f64>,
    /// Share answered "Unknown" (nothing in the catalog matched, or the answer was unusable).
    pub unknown_rate: Option<f64>,
    /// Unusable model answers (`unparseable`, `refused`, `truncated`, `no_answer`).
    pub unusable_answers: i64,
    pub confidence_mean: Option<f64>,
    pub confidence_median: Option<f64>,
    /// Time to answer, identifications the model was asked (not cached).
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Requests the model could not answer (timeouts, refusals, circuit open).
    pub upstream_errors: i64,
    /// Identifications whose caller went away after the model was asked (counted above:
    /// the model was paid for).
    pub abandoned: i64,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    #[sqlx(json)]
    pub calibration: Vec<CalibrationRow>,
}

/// What was answered, and what the user said it was (`crate::routes::metrics::quality`
/// answers these rows).
#[derive(Debug, FromRow)]
pub struct ConfusionRow {
    /// The machine id answered, or `unknown`.
    pub predicted: String,
    pub corrected: String,
    pub count: i64,
}

/// Per variant and model over `[from, to)`. In a transaction of its own, without JIT
/// (compiling the plan cost half a second, more than running it), with room to sort, and
/// up to 15 s (a 90-day window over a million events takes about 3 s: docs/performance.md);
/// the route is an operator's, outside the request deadline (`crate::deadline`). (The
/// `+ 0.0001` puts a confidence of 0.9, stored as 0.8999999762, in the 0.9 bucket.)
#[tracing::instrument(skip(db))]
pub async fn by_variant(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<VariantRow>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::raw_sql(
        "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL statement_timeout = '15s'",
    )
    .execute(&mut *tx)
    .await?;
    let rows = db.query_as(
        "with ev as materialized ( \
           select coalesce(e.prompt_variant, 'none') as prompt_variant, \
                  coalesce(e.model, 'none') as model, e.user_id, e.confidence, e.unmapped, \
                  e.cached, e.abandoned, e.latency_ms, e.prompt_tokens, e.completion_tokens, \
                  e.failure is distinct from 'upstream' as answered, \
                  e.failure in ('unparseable', 'refused', 'truncated', 'no_answer') as unusable, \
                  c.trace_id is not null as corrected \
             from public.identification_events e \
             left join public.identification_corrections c \
               on c.trace_id = e.trace_id and c.user_id = e.user_id \
            where e.created_at >= $1 and e.created_at < $2 and not e.mocked \
         ), \
         correcting as (select distinct user_id from ev where corrected and user_id is not null), \
         buckets as ( \
           select prompt_variant, model, \
                  least(floor(confidence * 10 + 0.0001), 9)::int as bucket, \
                  count(*) as n, count(*) filter (where not corrected) as uncorrected \
             from ev where answered group by 1, 2, 3 \
         ), \
         calibration as ( \
           select prompt_variant, model, jsonb_agg(jsonb_build_object( \
                    'lower', bucket / 10.0, 'upper', (bucket + 1) / 10.0, 'identifications', n, \
                    'uncorrected_share', uncorrected::float8 / n) order by bucket) as calibration \
             from buckets group by 1, 2 \
         ), \
         totals as ( \
           select v.prompt_variant, v.model, \
                  count(*) filter (where v.answered) as identifications, \
                  count(*) filter (where v.corrected) as corrections, \
                  count(*) filter (where v.answered and k.user_id is not null) as of_correcting, \
                  count(distinct v.user_id) filter (where v.answered) as users, \
                  count(distinct v.user_id) filter (where v.corrected) as correcting_users, \
                  count(*) filter (where v.answered and v.unmapped) as unknown, \
                  count(*) filter (where v.unusable) as unusable_answers, \
                  (avg(v.confidence) filter (where v.answered))::float8 as confidence_mean, \
                  percentile_cont(0.5) within group (order by v.confidence) \
                    filter (where v.answered) as confidence_median, \
                  percentile_cont(0.5) within group (order by v.latency_ms) \
                    filter (where v.answered and not v.cached) as latency_p50_ms, \
                  percentile_cont(0.95) within group (order by v.latency_ms) \
                    filter (where v.answered and not v.cached) as latency_p95_ms, \
                  count(*) filter (where not v.answered) as upstream_errors, \
                  count(*) filter (where v.abandoned) as abandoned, \
                  sum(v.prompt_tokens)::bigint as prompt_tokens, \
                  sum(v.completion_tokens)::bigint as completion_tokens \
             from ev v left join correcting k on k.user_id = v.user_id \
            group by v.prompt_variant, v.model \
         ) \
         select t.prompt_variant, t.model, t.identifications, t.corrections, \
                1 - t.corrections::float8 / nullif(t.identifications, 0) as accuracy, \
                t.users, t.correcting_users, \
                1 - t.corrections::float8 / nullif(t.of_correcting, 0) as accuracy_among_correcting_users, \
                t.unknown::float8 / nullif(t.identifications, 0) as unknown_rate, \
                t.unusable_answers, t.confidence_mean, t.confidence_median, t.latency_p50_ms, \
                t.latency_p95_ms, t.upstream_errors, t.abandoned, t.prompt_tokens, t.completion_tokens, \
                coalesce(cal.calibration, '[]'::jsonb) as calibration \
           from totals t left join calibration cal using (prompt_variant, model) \
          order by t.prompt_variant, t.model",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The most frequent confusions over `[from, to)`, most first.
#[tracing::instrument(skip(db))]
pub async fn confusions(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ConfusionRow>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(
            "select coalesce(e.machine_id, 'unknown') as predicted, \
                    coalesce(c.machine_id, 'unknown') as corrected, count(*) as count \
               from public.identification_events e \
               join public.identification_corrections c \
                 on c.trace_id = e.trace_id and c.user_id = e.user_id \
              where e.created_at >= $1 and e.created_at < $2 and not e.mocked \
              group by 1, 2 order by 3 desc, 1, 2 limit $3",
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(c)
        .await
    })
    .await
}
