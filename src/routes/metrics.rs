//! The contract's usage summaries. `stats` is admin-only (the original leaked totals
//! to anyone); `categories` describes the public catalog and stays public.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::db;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Totals {
    pub users: i64,
    pub machines: i64,
    pub identifications: i64,
    pub favorites: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RecentActivity {
    pub identifications_last_7_days: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Stats {
    pub totals: Totals,
    pub recent_activity: RecentActivity,
    pub timestamp: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
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
