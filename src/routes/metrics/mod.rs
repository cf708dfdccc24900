//! The contract's usage summaries. `stats` is admin-only (its totals describe every
//! user's activity); `categories` describes the public catalog and stays public. What
//! each prompt variant earns is answered in the types of [`quality`].

pub mod quality;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use self::quality::{Confusion, VariantMetrics};
use crate::auth::AdminUser;
use crate::db;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::telemetry;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    pub users: i64,
    pub machines: i64,
    pub identifications: i64,
    pub favorites: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecentActivity {
    pub identifications_last_7_days: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub totals: Totals,
    pub recent_activity: RecentActivity,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryStats {
    /// Active machines per category, most first.
    pub categories: Vec<CategoryCount>,
    pub total_categories: usize,
    pub timestamp: DateTime<Utc>,
}

/// Service-wide totals (admin or service role only).
#[utoipa::path(get, path = "/api/v1/metrics/stats", tag = "metrics",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, body = Stats),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
    )
)]
pub async fn stats(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<web::Json<Stats>> {
    let t = db::metrics::totals(&state.db).await?;
    Ok(web::Json(Stats {
        totals: Totals {
            users: t.users,
            machines: t.machines,
            identifications: t.identifications,
            favorites: t.favorites,
        },
        recent_activity: RecentActivity {
            identifications_last_7_days: t.identifications_last_7_days,
        },
        timestamp: Utc::now(),
    }))
}

/// Prometheus exposition text: HTTP traffic by route template, latency histograms,
/// requests in flight, the database pool, upstream calls, identification outcomes,
/// quota refusals and cache hit counts. Cloud Run ingress is public, so it takes the
/// bearer `METRICS_TOKEN` from configuration or an admin's token.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, content_type = "text/plain; version=0.0.4", body = String,
            description = "Prometheus text exposition format"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "A user token without the admin role"),
    )
)]
pub async fn prometheus(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if !metrics_token_matches(&state, &req) {
        AdminUser::extract(&req).await?;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(telemetry::metrics::render(state.db.pool_gauges())))
}

/// Compares digests, so the comparison's timing says nothing about the token.
fn metrics_token_matches(state: &AppState, req: &HttpRequest) -> bool {
    let Some(expected) = &state.settings.metrics_token else {
        return false;
    };
    let Some(sent) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    Sha256::digest(sent.as_bytes()) == Sha256::digest(expected.expose_secret().as_bytes())
}

/// Active machines per category.
#[utoipa::path(get, path = "/api/v1/metrics/categories", tag = "metrics",
    responses((status = 200, body = CategoryStats))
)]
pub async fn categories(state: web::Data<AppState>) -> ApiResult<web::Json<CategoryStats>> {
    let categories: Vec<CategoryCount> = db::metrics::categories(&state.db)
        .await?
        .into_iter()
        .map(|(category, count)| CategoryCount { category, count })
        .collect();
    Ok(web::Json(CategoryStats {
        total_categories: categories.len(),
        categories,
        timestamp: Utc::now(),
    }))
}

/// Query parameters of `GET /api/v1/metrics/identification` (documentation; parsed by
/// [`Window`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct WindowQuery {
    /// Start of the window (RFC 3339); default: `to` minus 7 days.
    from: Option<DateTime<Utc>>,
    /// End of the window, excluded (RFC 3339); default: now.
    to: Option<DateTime<Utc>>,
}

/// A time window of at most 90 days.
pub struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl FromRequest for Window {
    type Error = crate::error::ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let mut q = crate::extract::QueryParams::parse(req.query_string());
        let to = q.datetime("to").unwrap_or_else(Utc::now);
        let from = q
            .datetime("from")
            .unwrap_or_else(|| to - chrono::Duration::days(7));
        if from >= to {
            q.issue("from", "value_error", "`from` must be before `to`");
        } else if to - from > chrono::Duration::days(90) {
            q.issue("from", "value_error", "The window may span at most 90 days");
        }
        std::future::ready(q.finish(Window { from, to }))
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentificationMetrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Per prompt variant and model, with its calibration.
    pub variants: Vec<VariantMetrics>,
    /// The most frequent confusions (answered -> corrected), at most 20.
    pub confusions: Vec<Confusion>,
}

/// What each prompt variant and model earns over a window (default the last 7 days, at
/// most 90): identifications, corrections, accuracy (also among users who correct),
/// unknown rate, confidence, latency, upstream errors, calibration against corrections,
/// and the most frequent confusions. Admin or service role only.
#[utoipa::path(get, path = "/api/v1/metrics/identification", tag = "metrics",
    security(("bearer_auth" = [])),
    params(WindowQuery),
    responses(
        (status = 200, body = IdentificationMetrics),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 422, body = ErrorBody, description = "A window over 90 days, or one that ends before it starts"),
    )
)]
pub async fn identification(
    state: web::Data<AppState>,
    _admin: AdminUser,
    window: Window,
) -> ApiResult<web::Json<IdentificationMetrics>> {
    let (variants, confusions) = tokio::try_join!(
        db::quality::by_variant(&state.db, window.from, window.to),
        db::quality::confusions(&state.db, window.from, window.to, 20),
    )?;
    Ok(web::Json(IdentificationMetrics {
        from: window.from,
        to: window.to,
        variants: variants.into_iter().map(VariantMetrics::from).collect(),
        confusions: confusions.into_iter().map(Confusion::from).collect(),
    }))
}
