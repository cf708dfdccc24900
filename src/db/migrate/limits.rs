//! What each migration statement may take. Set on the migration's session before the
//! first migration, so it holds for every one of them (and the cutover) without each
//! file having to remember: a migration that waits for a lock held by a long transaction
//! would otherwise queue every query of the serving revision behind it.

use sqlx::PgConnection;

use crate::config::MigrationLimits;

/// `SET lock_timeout` and `SET statement_timeout` for the session `conn` is. A migration
/// that needs more for one statement says so itself (`set local statement_timeout`).
pub(super) async fn apply(conn: &mut PgConnection, limits: &MigrationLimits) -> sqlx::Result<()> {
    let sql = format!(
        "set lock_timeout = {}; set statement_timeout = {}",
        limits.lock_timeout.as_millis().max(1),
        limits.statement_timeout.as_millis().max(1)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await?;
    Ok(())
}

/// The session's own defaults again, before the connection goes back to its pool.
pub(super) async fn reset(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("reset lock_timeout; reset statement_timeout")
        .execute(conn)
        .await?;
    Ok(())
}
