//! An identification's record (`GET /traces/{trace_id}`), and the user's word on what
//! it should have said (corrections), which the identification metrics are made of.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::Object;

use crate::auth::AuthUser;
use crate::db;
use crate::db::identify::TraceRow;
use crate::db::rls::UserTx;
use crate::domain::bounded::Notes;
use crate::domain::bounded::schema::Null;
use crate::domain::correction::CorrectionSource;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::telemetry::metrics;

/// The contract's trace, with additive fields.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Trace {
    pub trace_id: String,
    pub machine: String,
    #[schema(value_type = Option<String>)]
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
    #[schema(value_type = Vec<Object>)]
    pub top_candidates: Value,
    pub created_at: DateTime<Utc>,
}

impl From<TraceRow> for Trace {
    fn from(row: TraceRow) -> Self {
        Trace {
            trace_id: row.trace_id,
            machine: row.machine,
            machine_id: row.machine_id,
            confidence: row.confidence,
            mocked: row.mocked,
            cached: row.cached,
            raw_text: row.raw_text,
            raw_machine: row.raw_machine,
            match_score: row.match_score,
            unmapped: row.unmapped,
            model: row.model,
            prompt: row.prompt,
            prompt_variant: row.prompt_variant,
            error: row.error,
            failure: row.failure,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            latency_ms: row.latency_ms,
            image_bytes: row.image_bytes,
            top_candidates: row.top_candidates,
            created_at: row.created_at,
        }
    }
}

/// One identification's record, for its owner or an admin.
#[utoipa::path(get, path = "/traces/{trace_id}", tag = "identify",
    security(("bearer_auth" = [])),
    params(("trace_id" = String, Path)),
    responses((status = 200, body = Trace), (status = 404, body = ErrorBody))
)]
pub async fn get_trace(
    state: web::Data<AppState>,
    user: AuthUser,
    trace_id: web::Path<String>,
) -> ApiResult<web::Json<Trace>> {
    let trace = db::identify::trace(&state.db, &trace_id).await?;
    match trace {
        Some(t) if t.user_id == Some(user.id) || user.role.is_admin() => {
            Ok(web::Json(Trace::from(t)))
        }
        _ => Err(ApiError::NotFound("Trace not found".into())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The machine the photo really showed.
    #[schema(value_type = String, example = "hack_squat_machine", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    #[serde(default)]
    #[schema(schema_with = note_schema)]
    pub note: Option<Notes>,
    /// Where in the app the user corrected from (default `picker`).
    #[serde(default)]
    pub source: CorrectionSource,
}

fn note_schema() -> Object {
    Notes::schema(Null::Allowed)
        .description(Some(Notes::limit()))
        .build()
}

/// A correction as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectionRecorded {
    pub trace_id: String,
    #[schema(value_type = String)]
    pub machine_id: MachineId,
    pub note: Option<String>,
    pub source: CorrectionSource,
    /// From the identification to this correction.
    pub time_to_correction_ms: i32,
}

/// Say which machine an identification should have named. One correction per
/// identification and user: a second replaces the first.
#[utoipa::path(post, path = "/api/v1/identifications/{trace_id}/correction", tag = "identify",
    security(("bearer_auth" = [])),
    params(("trace_id" = String, Path)),
    request_body = Correction,
    responses((status = 201, body = CorrectionRecorded), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn correct(
    state: web::Data<AppState>,
    user: AuthUser,
    trace_id: web::Path<String>,
    body: ApiJson<Correction>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let trace = db::identify::trace(&state.db, &trace_id)
        .await?
        .filter(|t| t.user_id == Some(user.id))
        .ok_or_else(|| ApiError::NotFound("Trace not found".into()))?;
    let time_to_correction_ms = UserTx::run(&state.db, &user.claims_json, async |tx| {
        db::identify::correct(
            tx,
            &trace_id,
            &body.machine_id,
            body.note.as_deref(),
            body.source,
        )
        .await
        .on_constraint("identification_corrections_machine_id_fkey", || {
            ApiError::not_found("Machine")
        })
    })
    .await?;
    metrics::correction(
        trace.prompt_variant.as_deref().unwrap_or("none"),
        trace.model.as_deref().unwrap_or("none"),
    );
    Ok(HttpResponse::Created().json(CorrectionRecorded {
        trace_id: trace_id.into_inner(),
        machine_id: body.machine_id,
        note: body.note.map(String::from),
        source: body.source,
        time_to_correction_ms,
    }))
}
