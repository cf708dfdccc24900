//! Postgres ending the service's connections itself, as a restart, a failover or an
//! operator's `pg_terminate_backend` does: each pooled connection answers its next
//! statement with FATAL 57P01 ("terminating connection due to administrator command").
//! That is the database being unavailable, not a bug: a 503 in the envelope, for one
//! request at most, and the next ones are served on fresh connections.

use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn connections_the_database_terminates_cost_one_503_not_500s() {
    let app = TestApp::builder().auth().spawn().await;
    let token = app.sign_in().await;
    // Several connections idle in the pool, as after a busy minute.
    let warm = (0..6).map(|_| app.get_as("/api/v1/favorites", &token));
    for response in futures_util::future::join_all(warm).await {
        assert_eq!(response.status(), 200);
    }
    let terminated: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = current_database() and application_name = 'machinemate-api') t",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(terminated >= 2, "{terminated} connections terminated");

    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = app.get_as("/api/v1/favorites", &token).await;
        if response.status() == 200 {
            statuses.push(200);
        } else {
            statuses.push(
                assert_error(response, 503, "database_unavailable")
                    .await
                    .status,
            );
        }
    }
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 1,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
}
