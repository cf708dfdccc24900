//! Identification records, quotas and the catalog as identification sees it. Events
//! and quotas are written as the service role (users only read their own).

use super::query::Statements;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Db;
use crate::vision::matching::CatalogEntry;

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

/// Who an identification counts against: a signed-in user, or (when anonymous callers
/// are allowed) a hashed client address.
#[derive(Debug, Clone)]
pub enum QuotaHolder {
    User(Uuid),
    Address(String),
}

// One statement each: the row lock makes concurrent requests queue, so the limit holds.
const TAKE_USER: &str = "insert into public.identification_quota (user_id, day, used) \
     values ($1::uuid, (now() at time zone 'utc')::date, 1) \
     on conflict (user_id, day) do update set used = identification_quota.used + 1 \
     where identification_quota.used < $2 returning used";
const TAKE_ADDRESS: &str = "insert into public.identification_ip_quota (ip_hash, day, used) \
     values ($1, (now() at time zone 'utc')::date, 1) \
     on conflict (ip_hash, day) do update set used = identification_ip_quota.used + 1 \
     where identification_ip_quota.used < $2 returning used";
const REFUND_USER: &str = "update public.identification_quota set used = greatest(used - 1, 0) \
     where user_id = $1::uuid and day = (now() at time zone 'utc')::date";
const REFUND_ADDRESS: &str = "update public.identification_ip_quota set used = greatest(used - 1, 0) \
     where ip_hash = $1 and day = (now() at time zone 'utc')::date";

impl QuotaHolder {
    /// The holder's key in its quota table (a user id, or an address hash).
    pub fn key(&self) -> String {
        match self {
            QuotaHolder::User(id) => id.to_string(),
            QuotaHolder::Address(hash) => hash.clone(),
        }
    }
}

/// One identification taken from a holder's daily allowance. It is given back unless
/// [`commit`](QuotaTicket::commit)ted: by [`refund`](QuotaTicket::refund) on an error the
/// handler sees, or, if the request is dropped part-way (the client went away), by a task
/// spawned when the ticket is dropped.
pub struct QuotaTicket {
    db: Db,
    holder: Option<QuotaHolder>,
}

impl QuotaTicket {
    /// The identification happened (the model was asked, or the answer came from the
    /// holder's own recent photo): the allowance stays spent.
    pub fn commit(mut self) {
        self.holder = None;
    }

    /// Gives the identification back now.
    pub async fn refund(mut self) -> Result<(), sqlx::Error> {
        match self.holder.take() {
            Some(holder) => refund(&self.db, &holder).await,
            None => Ok(()),
        }
    }
}

impl Drop for QuotaTicket {
    fn drop(&mut self) {
        let Some(holder) = self.holder.take() else {
            return;
        };
        let db = self.db.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = refund(&db, &holder).await {
                    tracing::warn!(error = %e, "quota refund of an abandoned identification failed");
                }
            });
        }
    }
}

/// Takes one identification from the holder's daily allowance; `None` when it is spent.
pub async fn take(
    db: &Db,
    holder: &QuotaHolder,
    limit: i32,
) -> Result<Option<QuotaTicket>, sqlx::Error> {
    if limit <= 0 {
        return Ok(None);
    }
    let sql = match holder {
        QuotaHolder::User(_) => TAKE_USER,
        QuotaHolder::Address(_) => TAKE_ADDRESS,
    };
    let used: Option<i32> = db
        .with_conn(async |c| {
            db.query_scalar(sql)
                .bind(holder.key())
                .bind(limit)
                .fetch_optional(c)
                .await
        })
        .await?;
    Ok(used.map(|_| QuotaTicket {
        db: db.clone(),
        holder: Some(holder.clone()),
    }))
}

/// Gives back an identification that never reached the model.
async fn refund(db: &Db, holder: &QuotaHolder) -> Result<(), sqlx::Error> {
    let sql = match holder {
        QuotaHolder::User(_) => REFUND_USER,
        QuotaHolder::Address(_) => REFUND_ADDRESS,
    };
    db.with_conn(async |c| db.query(sql).bind(holder.key()).execute(c).await)
        .await?;
    Ok(())
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
                       completion_tokens) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                       $19, $20, $21) \
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
            RecordError::Database(e) => crate::error::ApiError::Database(e),
            other => crate::error::ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The contract's trace, with additive fields.
#[derive(Debug, Serialize, ToSchema, FromRow)]
pub struct Trace {
    pub trace_id: String,
    #[serde(skip)]
    pub user_id: Option<Uuid>,
    pub machine: String,
    pub machine_id: Option<String>,
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
    #[schema(value_type = Vec<Object>)]
    pub top_candidates: Value,
    pub created_at: DateTime<Utc>,
}

pub async fn trace(db: &Db, trace_id: &str) -> Result<Option<Trace>, sqlx::Error> {
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

/// Where in the app a user corrected an identification from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionSource {
    /// The machine picker after an identification.
    #[default]
    Picker,
    /// A favorite.
    Favorites,
    /// The history.
    History,
}

impl CorrectionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionSource::Picker => "picker",
            CorrectionSource::Favorites => "favorites",
            CorrectionSource::History => "history",
        }
    }
}

/// Records what the user says the machine really was, where they said it from, and how
/// long after the identification (once per trace; a second call replaces the first).
/// Returns that time, in milliseconds.
pub async fn correct(
    tx: &mut super::rls::UserTx,
    trace_id: &str,
    machine_id: &str,
    note: Option<&str>,
    source: CorrectionSource,
) -> Result<i32, sqlx::Error> {
    tx.query_scalar(
        "insert into public.identification_corrections \
           (trace_id, user_id, machine_id, note, source, time_to_correction_ms) \
         select e.trace_id, (select auth.uid()), $2, $3, $4, \
                greatest(0, floor(extract(epoch from now() - e.created_at) * 1000))::integer \
           from public.identification_events e where e.trace_id = $1 \
         on conflict (trace_id, user_id) do update set machine_id = excluded.machine_id, \
           note = excluded.note, source = excluded.source, \
           time_to_correction_ms = excluded.time_to_correction_ms, created_at = now() \
         returning time_to_correction_ms",
    )
    .bind(trace_id)
    .bind(machine_id)
    .bind(note)
    .bind(source.as_str())
    .fetch_one(tx.conn())
    .await
}
