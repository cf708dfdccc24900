//! The record every identification leaves (`identification_events`).

use std::time::Instant;

use super::answer::Answer;
use super::request::Caller;
use crate::db::Db;
use crate::db::identify::{self as records, NewEvent};
use crate::error::ApiResult;
use crate::telemetry::metrics;

/// The record an identification leaves (`identification_events`).
pub(super) struct Recorded(NewEvent);

impl Recorded {
    pub(super) fn new(
        caller: &Caller,
        variant: &str,
        model: &str,
        answer: &Answer,
        image_bytes: usize,
        started: Instant,
    ) -> Self {
        Recorded(NewEvent {
            trace_id: caller.trace_id.clone(),
            user_id: caller.user_id,
            machine_id: answer.machine_id.clone(),
            machine_name: answer.machine.clone(),
            confidence: answer.confidence,
            mocked: false,
            cached: false,
            abandoned: false,
            raw_text: answer.raw_text.clone(),
            raw_machine: answer.raw_machine.clone(),
            match_score: answer.match_score,
            unmapped: answer.machine_id.is_none(),
            model: Some(model.to_owned()),
            prompt: None,
            prompt_variant: Some(variant.to_owned()),
            error: answer.error.clone(),
            failure: answer.failure.map(str::to_owned),
            prompt_tokens: answer.usage.prompt_tokens.map(|t| t as i32),
            completion_tokens: answer.usage.completion_tokens.map(|t| t as i32),
            latency_ms: started.elapsed().as_millis() as i32,
            image_bytes: image_bytes as i32,
            top_candidates: serde_json::to_value(&answer.candidates).unwrap_or_default(),
        })
    }

    pub(super) fn cached(mut self) -> Self {
        self.0.cached = true;
        // The model was not asked: what it cost was counted the first time.
        self.0.prompt_tokens = None;
        self.0.completion_tokens = None;
        self
    }

    /// Nobody was left to answer: the caller went away after the model was asked.
    pub(super) fn abandoned(mut self, abandoned: bool) -> Self {
        self.0.abandoned = abandoned;
        self
    }

    pub(super) fn mocked(mut self) -> Self {
        self.0.mocked = true;
        self.0.model = None;
        self
    }

    /// `matched`, `unknown`, `cached`, `mocked` or `unavailable` (the model could not be
    /// asked): the `outcome` of `identifications_total` and of the log line.
    fn outcome(&self) -> &'static str {
        let event = &self.0;
        if event.mocked {
            "mocked"
        } else if event.cached {
            "cached"
        } else if event.failure.as_deref() == Some("upstream") {
            "unavailable"
        } else if event.machine_id.is_some() {
            "matched"
        } else {
            "unknown"
        }
    }

    /// Stores the record, counts it, and logs the `identified` line the log-based metrics
    /// `identifications` (by outcome, variant, model) and `model-tokens` read.
    pub(super) async fn save(self, db: &Db) -> ApiResult<String> {
        let event = &self.0;
        let outcome = self.outcome();
        let variant = event.prompt_variant.as_deref().unwrap_or_default();
        let model = event.model.as_deref().unwrap_or("none");
        metrics::identification(outcome, variant, model);
        let trace_id = records::record(db, event).await?;
        let prompt_tokens = event.prompt_tokens.unwrap_or(0);
        let completion_tokens = event.completion_tokens.unwrap_or(0);
        tracing::info!(
            trace_id = %trace_id,
            outcome,
            machine = %event.machine_name,
            confidence = event.confidence,
            variant,
            model,
            prompt_tokens,
            completion_tokens,
            tokens = prompt_tokens + completion_tokens,
            cached = event.cached,
            mocked = event.mocked,
            abandoned = event.abandoned,
            latency_ms = event.latency_ms,
            "identified"
        );
        Ok(trace_id)
    }
}
