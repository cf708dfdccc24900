//! Behind PgBouncer in transaction mode (as behind Supabase's pooler on port 6543) a
//! client's statements may run on a different server connection each transaction, so
//! nothing may rely on named prepared statements. A real PgBouncer, a small server pool
//! and concurrent traffic make sure of that.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use machinemate_api::routes::users::UserProfile;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, answer, postgres_addr};

struct PgBouncer {
    child: Child,
    port: u16,
    _dir: PathBuf,
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn pgbouncer_binary() -> String {
    for candidate in [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!("pgbouncer is not installed: scripts/test installs it (Debian package pgbouncer)");
}

/// A PgBouncer in transaction mode in front of the test Postgres, not yet started:
/// the command, its port and its folder. The process is killed when the thread that
/// starts it ends (`--pdeathsig`), so none outlives the tests. Every test has a database
/// of its own: server connections idle for 5 s are closed, or those of tests already
/// done would fill Postgres's `max_connections` in a whole run of `scripts/test-pooler`.
pub fn pgbouncer_command(server_pool_size: u32) -> (Command, u16, PathBuf) {
    let postgres = postgres_addr();
    let port = crate::helpers::free_port();
    let dir = std::env::temp_dir().join(format!("mm-pgbouncer-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "[databases]\n* = host={} port={}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
         unix_socket_dir =\nauth_type = trust\nauth_file = {auth}\npool_mode = transaction\n\
         default_pool_size = {server_pool_size}\nmax_client_conn = 2000\nmax_db_connections = 50\n\
         server_idle_timeout = 5\nignore_startup_parameters = extra_float_digits\nlogfile = {log}\n",
        postgres.ip(),
        postgres.port(),
        auth = dir.join("users.txt").display(),
        log = dir.join("pgbouncer.log").display(),
    );
    std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
    std::fs::write(dir.join("pgbouncer.ini"), config).unwrap();
    let ini = dir.join("pgbouncer.ini").display().to_string();
    // setpriv execs pgbouncer in place, so the child killed on drop is pgbouncer
    // itself; as root it also drops to the postgres user (PgBouncer refuses root).
    let mut command = Command::new("setpriv");
    command.arg("--pdeathsig=KILL");
    if unsafe_is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    command
        .args(["--", &pgbouncer_binary(), &ini])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (command, port, dir)
}

async fn start_pgbouncer(server_pool_size: u32) -> PgBouncer {
    let (mut command, port, dir) = pgbouncer_command(server_pool_size);
    let child = command.spawn().expect("start pgbouncer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "pgbouncer did not start; see {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    PgBouncer {
        child,
        port,
        _dir: dir,
    }
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn the_service_works_behind_a_transaction_mode_pooler() {
    let bouncer = start_pgbouncer(2).await;
    let app = TestApp::builder()
        .auth()
        .reaching_postgres_at(([127, 0, 0, 1], bouncer.port).into())
        .env(("DATABASE_POOL_MODE", "transaction"))
        .env(("DATABASE_MAX_CONNECTIONS", "12"))
        .spawn()
        .await;

    let users: Vec<uuid::Uuid> =
        futures_util::future::join_all((0..3).map(|_| app.sign_up())).await;
    let tokens: Vec<String> = users.iter().map(|u| app.token_for(*u)).collect();
    let machines = ["leg_press", "treadmill", "lat_pulldown", "chest_press"];

    // Concurrent writes and reads from several users over 12 client connections
    // sharing 2 server connections.
    let app_ref = &app;
    let requests = tokens.iter().flat_map(|token| {
        machines.iter().flat_map(move |machine| {
            let app = app_ref;
            [
                app.request(Method::POST, "/api/v1/favorites", token)
                    .json(&json!({"machine_id": machine})),
                app.request(Method::POST, "/api/v1/history", token)
                    .header("Idempotency-Key", format!("{machine}-once"))
                    .json(&json!({"machine_id": machine, "confidence": 0.9})),
                app.request(Method::GET, "/api/v1/favorites", token),
                app.request(
                    Method::GET,
                    &format!("/api/v1/machines?search={machine}"),
                    token,
                ),
            ]
        })
    });
    let responses = futures_util::future::join_all(requests.map(|r| r.send())).await;
    for response in responses {
        let response = response.unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            response.text().await.unwrap()
        );
    }

    for token in &tokens {
        assert_eq!(app.favorites(token).await.total, machines.len());
        let history = app.history_page(token, "").await;
        assert_eq!(history.total, machines.len() as i64);
        let sync = app.sync(token, None).await;
        assert_eq!(sync.favorites.upserted.len(), machines.len());
        let me: UserProfile = answer(app.get_as("/api/v1/users/me", token).await, 200).await;
        assert!(!me.id.is_nil());
    }
    assert_eq!(app.get("/health/ready").await.status(), 200);
}
