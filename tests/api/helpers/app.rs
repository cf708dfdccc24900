//! The app under test: its address, its database, its stand-ins, and its users' tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use machinemate_api::db::Db;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::database::{database_url, settings_for};
use super::db_proxy::DbProxy;
use crate::binary::Service;
use crate::stand_ins::auth::{AuthServer, keys};
use crate::stand_ins::fireworks::FireworksServer;
use crate::stand_ins::storage::StorageServer;

/// template), the stand-ins it was started with, and a superuser pool on that database.
pub struct TestApp {
    pub address: String,
    pub database_name: String,
    /// A superuser pool on the test's database, for arranging and checking rows.
    pub db: PgPool,
    pub client: reqwest::Client,
    pub(super) stand_ins: StandIns,
    /// What the builder was given, for `another_instance`.
    pub(super) env: Vec<(String, String)>,
    pub(super) postgres: Option<SocketAddr>,
    pub(super) process: Option<Service>,
}

/// The stand-ins an app was started with; shared with its other instances.
#[derive(Clone, Default)]
pub(super) struct StandIns {
    pub(super) auth: Option<Arc<AuthServer>>,
    pub(super) admin_api: bool,
    pub(super) storage: Option<Arc<StorageServer>>,
    pub(super) fireworks: Option<Arc<FireworksServer>>,
    pub(super) db_proxy: Option<Arc<DbProxy>>,
}

impl StandIns {
    /// The settings that point the app at them.
    pub(super) fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some(auth) = &self.auth {
            env.extend(auth.env());
            if self.admin_api {
                env.extend(auth.admin_env());
            }
        }
        if let Some(storage) = &self.storage {
            env.extend(storage.env());
        }
        if let Some(fireworks) = &self.fireworks {
            env.extend(fireworks.env());
        }
        env
    }
}

impl TestApp {
    /// The Supabase Auth stand-in (`builder().auth()`).
    pub fn auth(&self) -> &AuthServer {
        self.stand_ins
            .auth
            .as_deref()
            .expect("start the app with .auth()")
    }

    /// The S3 stand-in (`builder().storage()`).
    pub fn storage(&self) -> &StorageServer {
        self.stand_ins
            .storage
            .as_deref()
            .expect("start the app with .storage()")
    }

    /// The Fireworks stand-in (`builder().fireworks(..)`).
    pub fn fireworks(&self) -> &FireworksServer {
        self.stand_ins
            .fireworks
            .as_deref()
            .expect("start the app with .fireworks(..)")
    }

    /// The proxy between the app and Postgres (`builder().behind_db_proxy()`).
    pub fn db_proxy(&self) -> &DbProxy {
        self.stand_ins
            .db_proxy
            .as_deref()
            .expect("start the app with .behind_db_proxy()")
    }

    /// The service's process (`builder().spawn_process()`): its memory, its exit.
    pub fn process(&self) -> &Service {
        self.process
            .as_ref()
            .expect("start the app with .spawn_process()")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Signs a user up in auth.users, as Supabase Auth would.
    pub async fn sign_up(&self) -> Uuid {
        let id = Uuid::new_v4();
        sqlx::query("insert into auth.users (id, email) values ($1, $2)")
            .bind(id)
            .bind(format!("{}@example.com", &id.simple().to_string()[..8]))
            .execute(&self.db)
            .await
            .unwrap();
        id
    }

    /// A token for `user`, exactly as Supabase Auth issues one (ES256).
    pub fn token_for(&self, user: Uuid) -> String {
        self.token_with(user, json!({}))
    }

    /// `token_for` with `changes` merged into the claims (`null` removes one).
    pub fn token_with(&self, user: Uuid, changes: Value) -> String {
        self.auth().token(&keys().es256, user, changes)
    }

    /// A new user, signed up and signed in: their id and token.
    pub async fn sign_up_and_in(&self) -> (Uuid, String) {
        let user = self.sign_up().await;
        (user, self.token_for(user))
    }

    /// A new user's token.
    pub async fn sign_in(&self) -> String {
        self.sign_up_and_in().await.1
    }

    /// A new user with the admin role (`app_metadata.role`), signed in.
    pub async fn admin_token(&self) -> String {
        let admin = self.sign_up().await;
        self.token_with(admin, json!({"app_metadata": {"role": "admin"}}))
    }

    /// The service's `Db` on the test's database, always direct: tests use it to run
    /// their own SQL in the service's transactions.
    pub fn app_db(&self) -> Db {
        self.db_with(&[])
    }

    /// `app_db` with other settings (a smaller pool, say).
    pub fn db_with(&self, extra: &[(&str, &str)]) -> Db {
        let settings = settings_for(&database_url(&self.database_name), extra, false);
        Db::connect_lazy(&settings.database).unwrap()
    }

    /// A `Db` on the test's database as the service serves with (`Db::serving`: the
    /// request deadline, the workers' own connections), with `extra` settings.
    pub fn serving_db_with(&self, extra: &[(&str, &str)]) -> Db {
        let settings = settings_for(&database_url(&self.database_name), extra, false);
        Db::serving(&settings.database, settings.request_deadline).unwrap()
    }
}

impl TestApp {
    /// Runs `machinemate-api maintain` (the real binary, with `args`) on this app's
    /// database and storage, as the Cloud Run job would; it must succeed. Returns what
    /// each task logged it removed, by task.
    pub async fn maintain(&self, args: &[&str]) -> std::collections::BTreeMap<String, u64> {
        let output = self.maintain_output(args).await;
        assert!(
            output.status.success(),
            "maintain failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["message"] == "maintain: task done")
            .map(|l| {
                (
                    l["task"].as_str().unwrap().to_owned(),
                    l["removed"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// `maintain`, whatever its outcome: the process's output. (Waited for off the
    /// runtime: the stand-ins it calls run on it.)
    pub async fn maintain_output(&self, args: &[&str]) -> std::process::Output {
        let mut command = crate::binary::command();
        command
            .arg("maintain")
            .args(args)
            .env("DATABASE_URL", database_url(&self.database_name))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info");
        for (name, value) in self.stand_ins.env() {
            command.env(name, value);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        // As the Cloud Run job: straight to Postgres, never through a transaction pooler.
        command.env("DATABASE_POOL_MODE", "session");
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }
}

impl TestApp {
    /// `/metrics` as a scrape with `token` (the app's `METRICS_TOKEN`) reads it.
    pub async fn scrape_metrics(&self, token: &str) -> String {
        self.client
            .get(self.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Runs `work` while sampling `probe` (a count read from Postgres, say) every 5 ms;
/// returns what `work` gave and the largest sample.
pub async fn watching_most<T, P, F>(
    app: &std::sync::Arc<TestApp>,
    probe: P,
    work: impl Future<Output = T>,
) -> (T, i64)
where
    P: Fn(std::sync::Arc<TestApp>) -> F + Send + 'static,
    F: Future<Output = i64> + Send,
{
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let most = std::sync::Arc::new(AtomicI64::new(0));
    let watcher = {
        let (app, done, most) = (app.clone(), done.clone(), most.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                most.fetch_max(probe(app.clone()).await, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let out = work.await;
    done.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    (out, most.load(Ordering::SeqCst))
}
