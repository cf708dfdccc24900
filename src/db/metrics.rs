//! Service-wide counts for operators (runs as the service role: totals cross users).

use super::query::Statements;
use sqlx::FromRow;

use super::Db;

#[derive(Debug, FromRow)]
pub struct Totals {
    pub users: i64,
    pub machines: i64,
    pub identifications: i64,
    pub favorites: i64,
    pub identifications_last_7_days: i64,
}

#[tracing::instrument(skip_all)]
pub async fn totals(db: &Db) -> Result<Totals, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(
            "select (select count(*) from public.users) as users, \
                (select count(*) from public.machines where is_active) as machines, \
                (select count(*) from public.identification_events) as identifications, \
                (select count(*) from public.favorites) as favorites, \
                (select count(*) from public.identification_events \
                  where created_at > now() - interval '7 days') as identifications_last_7_days",
        )
        .fetch_one(c)
        .await
    })
    .await
}

/// Active machines per category, most first.
#[tracing::instrument(skip_all)]
pub async fn categories(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    db.with_conn(async |c| {
        db.query_as(
            "select category, count(*) from public.machines where is_active \
         group by category order by count(*) desc, category",
        )
        .fetch_all(c)
        .await
    })
    .await
}
