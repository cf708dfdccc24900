//! Test harness: a fresh database per test (cloned from a migrated, seeded template),
//! the app on a random port, and small typed request helpers.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use machinemate_api::config::Settings;
use machinemate_api::db::{Db, migrate};
use machinemate_api::startup::Application;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::stand_ins::auth::{AuthServer, keys};

/// The server that tests may create databases on (`scripts/test` sets it).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must be set: run the tests with scripts/test")
}

/// `admin_url()` pointed at another database on the same server.
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

async fn admin_connection() -> PgConnection {
    PgConnection::connect(&admin_url())
        .await
        .expect("connect to DATABASE_URL")
}

/// A template holding bootstrap + migrations + seed, named by a hash of them so a
/// changed migration or seed builds a new one. Built once per process; an advisory
/// lock keeps concurrent test processes from building it twice.
async fn template_name() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut hasher = DefaultHasher::new();
            migrate::LOCAL_BOOTSTRAP_SQL.hash(&mut hasher);
            migrate::SEED_SQL.hash(&mut hasher);
            for migration in migrate::migrator().iter() {
                migration.checksum.hash(&mut hasher);
            }
            let name = format!("mm_tpl_{:016x}", hasher.finish());

            let mut admin = admin_connection().await;
            sqlx::query("select pg_advisory_lock(72817)")
                .execute(&mut admin)
                .await
                .unwrap();
            let ready: Option<bool> =
                sqlx::query_scalar("select datistemplate from pg_database where datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut admin)
                    .await
                    .unwrap();
            if ready != Some(true) {
                if ready.is_some() {
                    // Left half-built by a crashed run.
                    execute(
                        &mut admin,
                        &format!(r#"drop database "{name}" with (force)"#),
                    )
                    .await;
                }
                execute(&mut admin, &format!(r#"create database "{name}""#)).await;
                let pool = PgPool::connect(&database_url(&name)).await.unwrap();
                migrate::apply_local_bootstrap(&pool).await.unwrap();
                migrate::run_migrations(&pool).await.unwrap();
                migrate::seed_catalog(&pool).await.unwrap();
                pool.close().await;
                execute(
                    &mut admin,
                    &format!(r#"alter database "{name}" is_template true"#),
                )
                .await;
            }
            drop_stale_databases(&mut admin, &name).await;
            sqlx::query("select pg_advisory_unlock(72817)")
                .execute(&mut admin)
                .await
                .unwrap();
            name
        })
        .await
}

async fn execute(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops databases left by earlier test processes that have exited, and old templates.
async fn drop_stale_databases(admin: &mut PgConnection, current_template: &str) {
    let names: Vec<String> = sqlx::query_scalar(
        "select datname from pg_database where datname like 'mmtest\\_%' or datname like 'mm\\_tpl\\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap();
    for name in names {
        let stale = if let Some(rest) = name.strip_prefix("mmtest_") {
            let pid = rest.split('_').next().unwrap_or("");
            pid != std::process::id().to_string()
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        } else {
            name != current_template
        };
        if stale {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"alter database "{name}" is_template false; drop database if exists "{name}" with (force)"#
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// A new database cloned from the template; returns its name.
pub async fn fresh_database() -> String {
    let template = template_name().await;
    let name = format!("mmtest_{}_{}", std::process::id(), Uuid::new_v4().simple());
    let mut admin = admin_connection().await;
    execute(
        &mut admin,
        &format!(r#"create database "{name}" template "{template}""#),
    )
    .await;
    name
}

/// A new, completely empty database (no bootstrap, no migrations).
pub async fn empty_database() -> String {
    template_name().await; // keeps stale-database cleanup in one place
    let name = format!("mmtest_{}_{}", std::process::id(), Uuid::new_v4().simple());
    let mut admin = admin_connection().await;
    execute(&mut admin, &format!(r#"create database "{name}""#)).await;
    name
}

/// With `TEST_VIA_PGBOUNCER=1` (`scripts/test-pooler`), every app a test starts on the
/// test Postgres reaches it through one PgBouncer in transaction mode instead (as
/// behind Supabase's pooler on port 6543), with `DATABASE_POOL_MODE=transaction`. URLs
/// pointing elsewhere (a `DbProxy`) are left alone.
fn via_pooler(database_url: &str) -> Option<String> {
    std::env::var_os("TEST_VIA_PGBOUNCER")?;
    let mut url = url::Url::parse(database_url).ok()?;
    let postgres = postgres_addr();
    let direct = url.port().unwrap_or(5432) == postgres.port()
        && matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    if !direct {
        return None;
    }
    static PORT: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    let port = *PORT.get_or_init(|| {
        // Started from a thread that lives as long as the test process: PgBouncer is
        // killed when it ends (`--pdeathsig`), so it never outlives the tests.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut command, port, dir) = crate::pooler::pgbouncer_command(4);
            let mut child = command.spawn().expect("start pgbouncer");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "pgbouncer did not start; see {}",
                    dir.display()
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            sender.send(port).unwrap();
            // PgBouncer runs until the test process exits.
            let _ = child.wait();
        });
        receiver.recv().expect("pgbouncer started")
    });
    url.set_host(Some("127.0.0.1")).ok()?;
    url.set_port(Some(port)).ok()?;
    Some(url.to_string())
}

/// Settings as a test deployment would have them, pointed at `database_url`.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    settings_for(database_url, extra, true)
}

fn settings_for(database_url: &str, extra: &[(&str, &str)], may_pool: bool) -> Settings {
    let pooled = via_pooler(database_url).filter(|_| may_pool);
    let database_url = pooled.as_deref().unwrap_or(database_url);
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ENVIRONMENT", "development"),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "1500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    if pooled.is_some() {
        vars.insert("DATABASE_POOL_MODE".into(), "transaction".into());
    }
    Settings::from_lookup(|name| vars.get(name).cloned()).expect("valid test settings")
}

pub struct TestApp {
    pub address: String,
    pub database_name: String,
    /// A superuser pool on the test's database, for arranging and checking rows.
    pub db: PgPool,
    pub client: reqwest::Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Spawns the app with a stand-in Supabase Auth (ES256 and RS256 keys published).
pub async fn spawn_app_with_auth(extra: &[(&str, &str)]) -> (TestApp, AuthServer) {
    let keys = keys();
    let auth = AuthServer::start(&[&keys.es256, &keys.rs256]).await;
    let env = auth.env();
    let mut settings: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.extend_from_slice(extra);
    (spawn_app_with(&settings).await, auth)
}

/// Spawns the app on its own fresh database, with extra environment settings.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let database_name = fresh_database().await;
    let url = database_url(&database_name);
    let settings = test_settings(&url, extra);
    spawn_with_settings(settings, database_name).await
}

pub async fn spawn_with_settings(settings: Settings, database_name: String) -> TestApp {
    // `TEST_LOG=debug scripts/test name` shows the service's logs for a failing test.
    if let Ok(filter) = std::env::var("TEST_LOG") {
        machinemate_api::telemetry::init(machinemate_api::config::LogFormat::Pretty, &filter, None);
    }
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
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
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A request builder with `Authorization: Bearer <token>`.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
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

    /// GET and parse the JSON body, asserting the status.
    pub async fn get_json(&self, path: &str, status: u16) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// The service's `Db` on the test's database, always direct: tests use it to run
    /// their own SQL in the service's transactions.
    pub fn app_db(&self) -> Db {
        let settings = settings_for(&database_url(&self.database_name), &[], false);
        Db::connect_lazy(&settings.database).unwrap()
    }
}

/// Asserts the FastAPI-compatible error envelope and returns its `detail`.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let trace_header = response
        .headers()
        .get("x-trace-id")
        .expect("X-Trace-Id header")
        .to_str()
        .unwrap()
        .to_owned();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["trace_id"], trace_header.as_str(), "{body}");
    body["detail"].clone()
}

/// A TCP proxy in front of Postgres that a test can switch off and on, to see how the
/// service behaves while its database is unreachable.
pub struct DbProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Wakes open connections when `stall()` is called.
    stalled: Arc<tokio::sync::Notify>,
}

const FORWARD: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;
const STALL: u8 = 3;

impl DbProxy {
    pub async fn start(target: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let stalled = Arc::new(tokio::sync::Notify::new());
        let (mode2, connections2, stalled2) = (mode.clone(), connections.clone(), stalled.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mode = mode2.load(Ordering::SeqCst);
                let stalled = stalled2.clone();
                let task = tokio::spawn(async move {
                    match mode {
                        FORWARD => {
                            if let Ok(mut outbound) = TcpStream::connect(target).await {
                                let woken = stalled.notified();
                                tokio::pin!(woken);
                                woken.as_mut().enable();
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                    // Stop forwarding but keep both sockets open: a
                                    // network path that silently drops every packet.
                                    () = woken => {
                                        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                                    }
                                }
                            }
                        }
                        // Accept and say nothing, like a network that swallows packets.
                        HANG | STALL => {
                            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                            drop(inbound);
                        }
                        _ => drop(inbound),
                    }
                });
                connections2.lock().unwrap().push(task);
            }
        });
        DbProxy {
            addr,
            mode,
            connections,
            stalled,
        }
    }

    fn cut_connections(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Postgres "stops": open connections are cut, new ones closed at once.
    pub fn refuse(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_connections();
    }

    /// Postgres "hangs": connections are cut, new ones accepted and never answered.
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_connections();
    }

    /// The network path "black-holes": open connections stay open but nothing passes
    /// either way any more (no FIN, no RST), and new ones are accepted and never answered.
    pub fn stall(&self) {
        self.mode.store(STALL, Ordering::SeqCst);
        self.stalled.notify_waiters();
    }

    /// New connections are forwarded again. Connections stalled before stay dead but
    /// open (as flows through a failed-over NAT or load balancer do).
    pub fn forward(&self) {
        self.mode.store(FORWARD, Ordering::SeqCst);
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }
}

/// The socket address of the Postgres in DATABASE_URL.
pub fn postgres_addr() -> SocketAddr {
    let url = url::Url::parse(&admin_url()).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{}:{}", host, url.port().unwrap_or(5432))
        .parse()
        .expect("DATABASE_URL host is an IP")
}

/// The value of one sample in `/metrics` text, given its exact label set as the
/// exporter writes it (labels sorted by name); 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A TCP port nothing listens on right now (for a server started next, or for a
/// connection that must be refused).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Asserts a DELETE's answer: 200 with a JSON body `{"deleted": n}` (never an empty 204:
/// the shipped app parses every 2xx body as JSON), and returns `n`.
pub async fn deleted_count(response: reqwest::Response) -> u64 {
    assert_eq!(response.status().as_u16(), 200, "a DELETE answers 200");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "{body}");
    body["deleted"].as_u64().expect("`deleted` is a count")
}

/// Asserts `DELETE /api/v1/users/me`'s answer: 200 with `{"deleted": n,
/// "auth_user_deleted": bool}`; returns both.
pub async fn account_deleted(response: reqwest::Response) -> (u64, bool) {
    assert_eq!(response.status().as_u16(), 200, "the account is deleted");
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    (
        body["deleted"].as_u64().expect("`deleted` is a count"),
        body["auth_user_deleted"]
            .as_bool()
            .expect("`auth_user_deleted`"),
    )
}
