//! Probes for Cloud Run and people: `/health`, `/health/ready`, `/health/live`.

use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::IdentificationMode;
use crate::state::AppState;
use crate::telemetry::trace_context::current_trace_id;

/// How long the readiness probe waits for Postgres before calling it down.
const DATABASE_PROBE_BOUND: Duration = Duration::from_millis(1000);

#[derive(Serialize, ToSchema)]
pub struct DatabaseHealth {
    pub connected: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Features {
    pub auth: bool,
    pub favorites: bool,
    pub history: bool,
    /// Storage is configured and media is not turned off (`FEATURES_OFF`).
    pub media_upload: bool,
    /// Identification answers (from the model, or in development the local stand-in);
    /// false when `FEATURES_OFF` names it.
    pub identification: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database cannot be reached.
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
    #[schema(example = "production")]
    pub environment: &'static str,
    pub database: DatabaseHealth,
    /// Whether identification asks a vision model (Fireworks).
    pub vlm_configured: bool,
    /// True when identification answers from the local stand-in (development without
    /// `FIREWORKS_API_KEY`): a catalog machine chosen by the photo, with `mocked: true`.
    pub mocking_enabled: bool,
    pub features: Features,
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    pub ready: bool,
    /// Why the service is not ready (only when `ready` is false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Alive {
    pub alive: bool,
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Service status, configuration summary and database connectivity.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let connected = state.db.ping(DATABASE_PROBE_BOUND).await;
    let settings = &state.settings;
    let auth = settings.auth_configured();
    let identification = settings.identification_mode();
    no_store(HttpResponse::Ok().json(Health {
        status: if connected { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        environment: settings.environment.as_str(),
        database: DatabaseHealth { connected },
        vlm_configured: identification == IdentificationMode::Fireworks,
        mocking_enabled: identification == IdentificationMode::StandIn,
        features: Features {
            auth,
            favorites: auth,
            history: auth,
            media_upload: auth && state.storage.is_some(),
            identification: identification != IdentificationMode::Off,
        },
    }))
}

/// Readiness: 200 when Postgres answers within about a second, 503 otherwise.
#[utoipa::path(get, path = "/health/ready", 
    tag = "health",
    responses(
        (status = 200, body = Ready, example = json!({"ready": true})),
        (status = 503, body = Ready, description = "The database is unreachable"),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.db.ping(DATABASE_PROBE_BOUND).await {
        no_store(HttpResponse::Ok().json(Ready {
            ready: true,
            detail: None,
            code: None,
            trace_id: None,
        }))
    } else {
        no_store(HttpResponse::ServiceUnavailable().json(Ready {
            ready: false,
            detail: Some("Database unreachable"),
            code: Some("database_unavailable"),
            trace_id: current_trace_id(),
        }))
    }
}

/// Liveness: the process is serving requests.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Alive)))]
pub async fn live() -> HttpResponse {
    no_store(HttpResponse::Ok().json(Alive { alive: true }))
}
