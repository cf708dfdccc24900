//! `TestApp::builder()`: which stand-ins to start, which settings, and where the app
//! runs (in this process, or the real binary as its own process).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use machinemate_api::config::Settings;
use machinemate_api::startup::Application;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::app::{StandIns, TestApp};
use super::database::{database_url, fresh_database, postgres_addr, settings_for};
use super::db_proxy::DbProxy;
use crate::binary::Service;
use crate::stand_ins::auth::{AuthServer, SigningKey, keys};
use crate::stand_ins::fireworks::{FireworksServer, Reply};
use crate::stand_ins::storage::StorageServer;

/// A change to the settings that has no environment variable of its own.
type SettingsChange = Box<dyn FnOnce(&mut Settings)>;

#[derive(Default)]
enum Auth {
    #[default]
    None,
    Publishing(Vec<&'static SigningKey>),
    Shared(Arc<AuthServer>),
}

/// How a test asks for its app:
///
/// ```ignore
/// let app = TestApp::builder()
///     .auth()                                  // a Supabase Auth stand-in
///     .fireworks(says("Leg Press", 0.9))       // a Fireworks stand-in
///     .env(("IDENTIFY_DAILY_LIMIT", "5"))      // any setting
///     .spawn()                                 // in this process (`spawn_process`: the binary)
///     .await;
/// let token = app.sign_in().await;
/// ```
#[derive(Default)]
pub struct TestAppBuilder {
    auth: Auth,
    admin_api: bool,
    storage: Option<Arc<StorageServer>>,
    start_storage: bool,
    fireworks: Option<Arc<FireworksServer>>,
    fireworks_script: Option<(Vec<Reply>, Reply)>,
    db_proxy: Option<Arc<DbProxy>>,
    start_db_proxy: bool,
    postgres: Option<SocketAddr>,
    database: Option<String>,
    env: Vec<(String, String)>,
    settings: Vec<SettingsChange>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// Another instance of the service on this app's database, with the same stand-ins
    /// and settings (as Cloud Run runs several); more may be added before `spawn`.
    pub fn another_instance(&self) -> TestAppBuilder {
        let mut builder = TestApp::builder().on_database(&self.database_name);
        builder.auth = match &self.stand_ins.auth {
            Some(auth) => Auth::Shared(auth.clone()),
            None => Auth::None,
        };
        builder.admin_api = self.stand_ins.admin_api;
        builder.storage = self.stand_ins.storage.clone();
        builder.fireworks = self.stand_ins.fireworks.clone();
        builder.db_proxy = self.stand_ins.db_proxy.clone();
        builder.postgres = self.postgres;
        builder.env = self.env.clone();
        builder
    }
}

impl TestAppBuilder {
    /// A Supabase Auth stand-in publishing the ES256 and RS256 keys.
    pub fn auth(self) -> Self {
        let keys = keys();
        self.auth_publishing(&[&keys.es256, &keys.rs256])
    }

    /// A Supabase Auth stand-in publishing exactly `keys`.
    pub fn auth_publishing(mut self, keys: &[&'static SigningKey]) -> Self {
        self.auth = Auth::Publishing(keys.to_vec());
        self
    }

    /// With `auth()`: the app also gets Supabase Auth's admin API (project URL and
    /// service-role key).
    pub fn auth_admin_api(mut self) -> Self {
        if matches!(self.auth, Auth::None) {
            self = self.auth();
        }
        self.admin_api = true;
        self
    }

    /// A real S3-compatible server (`app.storage()`).
    pub fn storage(mut self) -> Self {
        self.start_storage = true;
        self
    }

    /// Storage at an endpoint that is not the stand-in (a failing or absent one), with
    /// keys it will never check.
    pub fn storage_at(self, endpoint: &str) -> Self {
        self.env(("STORAGE_S3_ENDPOINT", endpoint))
            .env(("STORAGE_S3_ACCESS_KEY_ID", "x"))
            .env(("STORAGE_S3_SECRET_ACCESS_KEY", "y"))
    }

    /// A Fireworks stand-in answering every request with `reply` (`app.fireworks()`).
    pub fn fireworks(self, reply: Reply) -> Self {
        self.fireworks_replying(vec![], reply)
    }

    /// A Fireworks stand-in answering with `replies` in order, then `fallback` for ever.
    pub fn fireworks_replying(mut self, replies: Vec<Reply>, fallback: Reply) -> Self {
        self.fireworks_script = Some((replies, fallback));
        self
    }

    /// The app reaches Postgres through a proxy the test can switch off
    /// (`app.db_proxy()`).
    pub fn behind_db_proxy(mut self) -> Self {
        self.start_db_proxy = true;
        self
    }

    /// The app reaches Postgres at `addr` (a pooler in front of it) instead.
    pub fn reaching_postgres_at(mut self, addr: SocketAddr) -> Self {
        self.postgres = Some(addr);
        self
    }

    /// An existing database instead of a fresh one.
    pub fn on_database(mut self, name: &str) -> Self {
        self.database = Some(name.to_owned());
        self
    }

    /// A setting, as an environment variable; it overrides what a stand-in sets.
    pub fn env(mut self, (name, value): (&str, &str)) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A change to the settings that has no variable of its own.
    pub fn settings(mut self, change: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.settings.push(Box::new(change));
        self
    }

    /// Starts the stand-ins and the database.
    async fn prepare(&mut self) -> (StandIns, String) {
        let auth = match std::mem::replace(&mut self.auth, Auth::None) {
            Auth::None => None,
            Auth::Publishing(keys) => Some(Arc::new(AuthServer::start(&keys).await)),
            Auth::Shared(auth) => Some(auth),
        };
        let storage = match (self.storage.take(), self.start_storage) {
            (Some(shared), _) => Some(shared),
            (None, true) => Some(Arc::new(StorageServer::start().await)),
            (None, false) => None,
        };
        let fireworks = match (self.fireworks.take(), self.fireworks_script.take()) {
            (Some(shared), _) => Some(shared),
            (None, Some((replies, fallback))) => {
                Some(Arc::new(FireworksServer::start(replies, fallback).await))
            }
            (None, None) => None,
        };
        let db_proxy = match (self.db_proxy.take(), self.start_db_proxy) {
            (Some(shared), _) => Some(shared),
            (None, true) => {
                let proxy = DbProxy::start(postgres_addr()).await;
                self.postgres = Some(proxy.addr);
                Some(Arc::new(proxy))
            }
            (None, false) => None,
        };
        let database = match self.database.take() {
            Some(name) => name,
            None => fresh_database().await,
        };
        let stand_ins = StandIns {
            auth,
            admin_api: self.admin_api,
            storage,
            fireworks,
            db_proxy,
        };
        (stand_ins, database)
    }

    /// The URL the app is given: the database's, through the proxy or pooler if any.
    fn app_database_url(&self, database: &str) -> String {
        let mut url = url::Url::parse(&database_url(database)).unwrap();
        if let Some(addr) = self.postgres {
            url.set_host(Some("127.0.0.1")).unwrap();
            url.set_port(Some(addr.port())).unwrap();
        }
        url.to_string()
    }

    /// The stand-ins' settings, then the test's own (a later one wins).
    fn all_env(&self, stand_ins: &StandIns) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in stand_ins.env() {
            env.insert(name.to_owned(), value);
        }
        for (name, value) in &self.env {
            env.insert(name.clone(), value.clone());
        }
        env.into_iter().collect()
    }

    /// Starts the app in this process; with `MM_APP_PROCESS=1`, as the binary instead
    /// (`spawn_process`, `MM_BINARY` naming another build): `scripts/test-previous-release`
    /// runs the app's compatibility checks so against the previous release's binary.
    pub async fn spawn(mut self) -> TestApp {
        if std::env::var_os("MM_APP_PROCESS").is_some() {
            return self.spawn_process().await;
        }
        let (stand_ins, database_name) = self.prepare().await;
        let env = self.all_env(&stand_ins);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut settings = settings_for(&self.app_database_url(&database_name), &pairs, true);
        for change in self.settings.drain(..) {
            change(&mut settings);
        }
        // `TEST_LOG=debug scripts/test name` shows the service's logs for a failing test.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            machinemate_api::telemetry::init(
                machinemate_api::config::LogFormat::Pretty,
                &filter,
                None,
            );
        }
        let app = Application::build(settings).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        self.finish(address, database_name, stand_ins, None).await
    }

    /// Starts the real binary as its own process (`binary::Service`), with exactly the
    /// stand-ins' settings, `DATABASE_URL` and the test's own.
    pub async fn spawn_process(mut self) -> TestApp {
        assert!(
            self.settings.is_empty(),
            "a process takes its settings from the environment: use .env(..)"
        );
        let (stand_ins, database_name) = self.prepare().await;
        let mut env: Vec<(&str, String)> =
            vec![("DATABASE_URL", self.app_database_url(&database_name))];
        let all = self.all_env(&stand_ins);
        env.extend(all.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let service = Service::start(&env).await;
        let address = service.base.clone();
        self.finish(address, database_name, stand_ins, Some(service))
            .await
    }

    async fn finish(
        self,
        address: String,
        database_name: String,
        stand_ins: StandIns,
        process: Option<Service>,
    ) -> TestApp {
        let db = PgPoolOptions::new()
            .max_connections(3)
            .connect_with(
                database_url(&database_name)
                    .parse::<PgConnectOptions>()
                    .unwrap(),
            )
            .await
            .unwrap();
        TestApp {
            address,
            database_name,
            db,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            stand_ins,
            env: self.env,
            postgres: self.postgres,
            process,
        }
    }
}
