//! Per-user rate limits of the heavy routes (`public.rate_limits`, migration
//! 20261204010000): a fixed window per route family, taken atomically in Postgres like the
//! identification quota, so the limit holds across instances.

use super::query::Statements;
use std::time::Duration;

use uuid::Uuid;

use super::Db;

/// How often one user may call a family of routes.
pub struct RateLimit {
    pub bucket: &'static str,
    pub max: i32,
    pub window: Duration,
}

/// The whole account as one document: five an hour.
pub const EXPORT: RateLimit = RateLimit {
    bucket: "export",
    max: 5,
    window: Duration::from_secs(3600),
};
/// A full sync (no cursor: everything the user has, and the catalog): thirty an hour.
/// Syncs from a cursor carry only what changed, in pages, and are not limited.
pub const FULL_SYNC: RateLimit = RateLimit {
    bucket: "full_sync",
    max: 30,
    window: Duration::from_secs(3600),
};
/// History uploads of up to 100 entries: two a second on average, over a minute.
pub const HISTORY_BATCH: RateLimit = RateLimit {
    bucket: "history_batch",
    max: 120,
    window: Duration::from_secs(60),
};

/// One history entry written or removed (`POST /api/v1/history`,
/// `DELETE /api/v1/history/{id}`): five a second on average, over a minute. The app
/// writes one per identification.
pub const HISTORY_WRITE: RateLimit = RateLimit {
    bucket: "history_write",
    max: 300,
    window: Duration::from_secs(60),
};

/// Takes one call from `user`'s allowance in the current window: `None` when allowed,
/// or the seconds until the next window when spent.
pub async fn take(db: &Db, user: Uuid, limit: &RateLimit) -> Result<Option<u64>, sqlx::Error> {
    let window = limit.window.as_secs().max(1) as i64;
    let row: Option<i32> = db
        .with_conn(async |c| {
            db.query_scalar(
                "insert into public.rate_limits as r (user_id, bucket, window_start, used) \
                 values ($1, $2, to_timestamp(floor(extract(epoch from now()) / $3) * $3), 1) \
                 on conflict (user_id, bucket) do update \
                   set window_start = excluded.window_start, \
                       used = case when r.window_start = excluded.window_start then r.used + 1 else 1 end \
                   where r.window_start <> excluded.window_start or r.used < $4 \
                 returning used",
            )
            .bind(user)
            .bind(limit.bucket)
            .bind(window)
            .bind(limit.max)
            .fetch_optional(c)
            .await
        })
        .await?;
    Ok(match row {
        Some(_) => None,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            Some((window - now.rem_euclid(window)).max(1) as u64)
        }
    })
}
