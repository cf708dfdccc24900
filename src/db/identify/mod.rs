//! Identification records and the catalog as identification sees it; the daily
//! allowances ([`quota`]), the global model budget ([`budget`]) and users' corrections
//! ([`corrections`]). Events and quotas are written as the service role (users only read
//! their own).

pub mod budget;
mod corrections;
mod quota;

pub use corrections::correct;
pub use quota::{QuotaTicket, take};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use crate::db::Db;
use crate::db::query::Statements;
use crate::domain::identify::CatalogEntry;
use crate::domain::machine_id::MachineId;

/// The active machines with what identification matches an answer against.
pub async fn catalog_entries(db: &Db) -> Result<Vec<CatalogEntry>, sqlx::Error> {
    let rows: Vec<(String, String, Vec<String>, Vec<String>)> = db
        .with_conn(async |c| {
            db.query_as(
                "select id, name, synonyms, visual_cues from public.machines where is_active order by name",
            )
            .fetch_all(c)
            .await
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, synonyms, visual_cues)| CatalogEntry {
            id,
            name,
            synonyms,
            visual_cues,
        })
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub trace_id: String,
    pub user_id: Option<Uuid>,
    pub machine_id: Option<String>,
    pub machine_name: String,
    pub confidence: f32,
    pub mocked: bool,
    pub cached: bool,
    /// The caller went away after the model was asked (the identification still counts).
    pub abandoned: bool,
    pub raw_text: Option<String>,
    pub raw_machine: Option<String>,
    pub match_score: Option<f32>,
    pub unmapped: bool,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub prompt_variant: Option<String>,
    pub error: Option<String>,
    /// Why the answer was unusable (`unparseable`, `refused`, `truncated`, `no_answer`),
    /// or `upstream` when the model could not be asked.
    pub failure: Option<String>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub latency_ms: i32,
    pub image_bytes: i32,
    pub top_candidates: Value,
}

/// Records an identification; a trace id already taken (a client reusing its trace
/// header) gets a fresh one. Returns the trace id stored.
pub async fn record(db: &Db, event: &NewEvent) -> Result<String, RecordError> {
    let mut trace_id = event.trace_id.clone();
    for _ in 0..2 {
        let inserted = db
            .with_conn(async |c| {
                db.query(
                    "insert into public.identification_events (trace_id, user_id, machine_id, machine_name, \
                       confidence, mocked, cached, raw_text, raw_machine, match_score, unmapped, model, prompt, \
                       prompt_variant, error, latency_ms, image_bytes, top_candidates, failure, prompt_tokens, \
                       completion_tokens, abandoned) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                       $19, $20, $21, $22) \
                     on conflict (trace_id) do nothing",
                )
                .bind(&trace_id)
                .bind(event.user_id)
                .bind(&event.machine_id)
                .bind(&event.machine_name)
                .bind(event.confidence)
                .bind(event.mocked)
                .bind(event.cached)
                .bind(&event.raw_text)
                .bind(&event.raw_machine)
                .bind(event.match_score)
                .bind(event.unmapped)
                .bind(&event.model)
                .bind(&event.prompt)
                .bind(&event.prompt_variant)
                .bind(&event.error)
                .bind(event.latency_ms)
                .bind(event.image_bytes)
                .bind(&event.top_candidates)
                .bind(&event.failure)
                .bind(event.prompt_tokens)
                .bind(event.completion_tokens)
                .bind(event.abandoned)
                .execute(c)
                .await
            })
            .await?;
        if inserted.rows_affected() == 1 {
            return Ok(trace_id);
        }
        trace_id = Uuid::new_v4().simple().to_string();
    }
    Err(RecordError::NoFreeTraceId)
}

/// Why an identification was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Two fresh trace ids were taken in a row: not the database's fault (a 500, not the
    /// 503 "Database unavailable" a protocol error would have answered).
    #[error("no free trace id after two tries")]
    NoFreeTraceId,
}

impl From<RecordError> for crate::error::ApiError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Database(e) => e.into(),
            other => crate::error::ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// An identification's record (`crate::routes::traces::Trace` answers it).
#[derive(Debug, FromRow)]
pub struct TraceRow {
    pub trace_id: String,
    pub user_id: Option<Uuid>,
    pub machine: String,
    pub machine_id: Option<MachineId>,
    pub confidence: f32,
    pub mocked: bool,
    pub cached: bool,
    pub raw_text: Option<String>,
    pub raw_machine: Option<String>,
    pub match_score: Option<f32>,
    pub unmapped: bool,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub prompt_variant: Option<String>,
    pub error: Option<String>,
    /// Why the model's answer was unusable (`unparseable`, `refused`, `truncated`,
    /// `no_answer`), or `upstream` when the model could not be asked.
    pub failure: Option<String>,
    /// What the call cost, when the model reported it.
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub latency_ms: Option<i32>,
    pub image_bytes: Option<i32>,
    pub top_candidates: Value,
    pub created_at: DateTime<Utc>,
}

pub async fn trace(db: &Db, trace_id: &str) -> Result<Option<TraceRow>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(
            "select trace_id, user_id, machine_name as machine, machine_id, confidence, mocked, cached, \
             raw_text, raw_machine, match_score, unmapped, model, prompt, prompt_variant, error, \
             failure, prompt_tokens, completion_tokens, latency_ms, image_bytes, top_candidates, created_at \
             from public.identification_events where trace_id = $1",
        )
        .bind(trace_id)
        .fetch_optional(c)
        .await
    })
    .await
}
