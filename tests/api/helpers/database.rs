//! Databases for tests: each test gets its own, cloned from a template that holds the
//! bootstrap, the migrations and the seed; and the settings that point an app at one.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;

use machinemate_api::config::Settings;
use machinemate_api::db::migrate;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

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
            // One statement each: in one query string the two would share a transaction,
            // which DROP DATABASE refuses (and the databases were never dropped).
            for sql in [
                format!(r#"alter database "{name}" is_template false"#),
                format!(r#"drop database if exists "{name}" with (force)"#),
            ] {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *admin)
                    .await;
            }
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

/// Settings as a test deployment would have them, pointed at `database_url`; through
/// the PgBouncer of `scripts/test-pooler` when `may_pool` and the URL is direct.
pub(super) fn settings_for(database_url: &str, extra: &[(&str, &str)], may_pool: bool) -> Settings {
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

/// A TCP port nothing listens on right now (for a server started next, or for a
/// connection that must be refused).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
