//! What each prompt variant and model earns, as `GET /api/v1/metrics/identification`
//! answers it (`crate::db::quality` reads it).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::quality::{CalibrationRow, ConfusionRow, VariantRow};

/// One bucket of confidence (0.1 wide) against the share of answers nobody corrected:
/// a well-calibrated variant's share is about its confidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CalibrationBucket {
    pub lower: f64,
    pub upper: f64,
    pub identifications: i64,
    pub uncorrected_share: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VariantMetrics {
    #[schema(example = "catalog-v1")]
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
    pub calibration: Vec<CalibrationBucket>,
}

/// What was answered, and what the user said it was.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Confusion {
    /// The machine id answered, or `unknown`.
    pub predicted: String,
    pub corrected: String,
    pub count: i64,
}

impl From<CalibrationRow> for CalibrationBucket {
    fn from(row: CalibrationRow) -> Self {
        CalibrationBucket {
            lower: row.lower,
            upper: row.upper,
            identifications: row.identifications,
            uncorrected_share: row.uncorrected_share,
        }
    }
}

impl From<VariantRow> for VariantMetrics {
    fn from(row: VariantRow) -> Self {
        VariantMetrics {
            prompt_variant: row.prompt_variant,
            model: row.model,
            identifications: row.identifications,
            corrections: row.corrections,
            accuracy: row.accuracy,
            users: row.users,
            correcting_users: row.correcting_users,
            accuracy_among_correcting_users: row.accuracy_among_correcting_users,
            unknown_rate: row.unknown_rate,
            unusable_answers: row.unusable_answers,
            confidence_mean: row.confidence_mean,
            confidence_median: row.confidence_median,
            latency_p50_ms: row.latency_p50_ms,
            latency_p95_ms: row.latency_p95_ms,
            upstream_errors: row.upstream_errors,
            abandoned: row.abandoned,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            calibration: row.calibration.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ConfusionRow> for Confusion {
    fn from(row: ConfusionRow) -> Self {
        Confusion {
            predicted: row.predicted,
            corrected: row.corrected,
            count: row.count,
        }
    }
}
