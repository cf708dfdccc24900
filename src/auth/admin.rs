//! Supabase Auth's admin API, for the one thing this service asks of it: deleting a
//! user's sign-in when they delete their account (`DELETE /api/v1/users/me`). The app
//! cannot do that itself: it needs the project's service-role key
//! (`SUPABASE_SERVICE_ROLE_KEY`, a Secret Manager secret). On the local stack, where the
//! service is its own Supabase Auth (`auth::dev`), it deletes the local sign-in itself,
//! as the admin API does: the `auth.users` row, whose deletion cascades to the profile.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use url::Url;
use uuid::Uuid;

use crate::db::Db;
use crate::db::query::Statements;
use crate::telemetry::metrics::{self, Upstream};

/// Long enough for Supabase Auth to delete a user, short enough to answer the app.
const DELETE_TIMEOUT: Duration = Duration::from_secs(5);

pub enum AuthAdmin {
    Supabase {
        http: reqwest::Client,
        /// `{SUPABASE_URL}/auth/v1/admin/users/`
        users: Url,
        key: SecretString,
    },
    /// The local stack's own sign-ins (`LOCAL_AUTH_KEY_FILE`, development only).
    Local(Db),
}

impl AuthAdmin {
    /// `None` without both the project URL and the service-role key.
    pub fn new(
        http: reqwest::Client,
        supabase_url: Option<&Url>,
        key: Option<SecretString>,
    ) -> Option<Self> {
        let base = supabase_url?.as_str().trim_end_matches('/').to_owned();
        let users = Url::parse(&format!("{base}/auth/v1/admin/users/")).ok()?;
        Some(AuthAdmin::Supabase {
            http,
            users,
            key: key?,
        })
    }

    /// Deletes the Supabase Auth user `id`. A user already gone counts as deleted, so a
    /// retry after a failure finishes the job. The error says what went wrong, without
    /// the key.
    pub async fn delete_user(&self, id: Uuid) -> Result<(), String> {
        let (http, users, key) = match self {
            AuthAdmin::Supabase { http, users, key } => (http, users, key),
            AuthAdmin::Local(db) => return delete_local_user(db, id).await,
        };
        let started = Instant::now();
        let url = users.join(&id.to_string()).map_err(|e| e.to_string())?;
        let result = http
            .delete(url)
            .header("apikey", key.expose_secret())
            .bearer_auth(key.expose_secret())
            .timeout(DELETE_TIMEOUT)
            .send()
            .await;
        let outcome = match result {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => Ok(()),
            Ok(response) => Err(format!("Supabase Auth answered {}", response.status())),
            Err(e) if e.is_timeout() => Err("Supabase Auth did not answer in time".into()),
            Err(_) => Err("Supabase Auth could not be reached".into()),
        };
        metrics::upstream_call(Upstream::AuthAdmin, started, outcome.is_ok());
        outcome
    }
}

/// Deletes a local sign-in (and, through the foreign key, what is left of the profile).
async fn delete_local_user(db: &Db, id: Uuid) -> Result<(), String> {
    db.with_conn(async |c| {
        db.query("delete from auth.users where id = $1")
            .bind(id)
            .execute(c)
            .await
    })
    .await
    .map(drop)
    .map_err(|e| format!("the local auth.users: {e}"))
}
