//! The record every identification leaves (`identification_events`).

use std::time::Instant;

use super::answer::Answer;
use super::request::Caller;
use crate::db::Db;
use crate::db::identify::{self as records, NewEvent};
use crate::error::ApiResult;

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

    pub(super) async fn save(self, db: &Db) -> ApiResult<String> {
        let trace_id = records::record(db, &self.0).await?;
        tracing::info!(
            trace_id = %trace_id,
            machine = %self.0.machine_name,
            confidence = self.0.confidence,
            variant = self.0.prompt_variant.as_deref().unwrap_or_default(),
            cached = self.0.cached,
            mocked = self.0.mocked,
            abandoned = self.0.abandoned,
            latency_ms = self.0.latency_ms,
            "identified"
        );
        Ok(trace_id)
    }
}
