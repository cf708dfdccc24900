//! An identification's record (`GET /traces/{trace_id}`), and the user's word on what
//! it should have said (corrections), which the identification metrics are made of.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db;
use crate::db::identify::{CorrectionSource, Trace};
use crate::db::rls::UserTx;
use crate::domain::machine_id::MachineId;
use crate::error::{ApiError, ApiResult, ErrorBody, ResultExt, ValidationIssue};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::telemetry::metrics;

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
        Some(t) if t.user_id == Some(user.id) || user.role.is_admin() => Ok(web::Json(t)),
        _ => Err(ApiError::NotFound("Trace not found".into())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The machine the photo really showed.
    #[schema(value_type = String, example = "hack_squat_machine", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    /// At most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    /// Where in the app the user corrected from (default `picker`).
    #[serde(default)]
    pub source: CorrectionSource,
}

/// A correction as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionRecorded {
    pub trace_id: String,
    pub machine_id: String,
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
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into(), "note".into()],
            "string_too_long",
            "String should have at most 1000 characters",
        )]));
    }
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
        machine_id: body.machine_id.into(),
        note: body.note,
        source: body.source,
        time_to_correction_ms,
    }))
}
