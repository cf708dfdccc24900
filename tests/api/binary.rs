//! The real `machinemate-api` binary as its own process, for what only a process shows:
//! its memory (resident and peak), its behaviour under load, its logs, its exit on
//! SIGTERM. `TestApp::builder().spawn_process()` starts it with stand-ins; `Service`
//! is the process itself; `command` runs one of its subcommands (`migrate`, `eval`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Service {
    child: Mutex<Option<Child>>,
    pid: u32,
    pub base: String,
    /// Every log line after "listening" (`start_logging`).
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The binary of this build, without any of the test process's environment.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_machinemate-api"));
    command.env_clear();
    command
}

impl Service {
    /// Starts the binary (`MM_BINARY` when set, to measure another build) on a free port
    /// with exactly `env` (plus HOST and PORT), and waits until `/health/ready` says 200.
    pub async fn start(env: &[(&str, String)]) -> Service {
        let port = crate::helpers::free_port();
        let binary = std::env::var("MM_BINARY")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_machinemate-api").to_owned());
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            // `MM_SERVICE_LOGS=1` shows the service's own (warnings and errors) log lines.
            .stdout(if std::env::var_os("MM_SERVICE_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let service = Service::spawned(command.spawn().unwrap(), port.into());
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client
                .get(format!("{}/health/ready", service.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return service;
            }
            assert!(Instant::now() < deadline, "the service did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts the binary of this build on a port it picks, with exactly `env` (plus HOST,
    /// `PORT=0` and JSON logs), reading its log lines: every one up to "listening" (which
    /// names the port) must be JSON with a severity, and every later one is kept
    /// (`lines`). Does not wait for readiness: the database may be away on purpose.
    pub fn start_logging(env: &[(&str, String)]) -> Service {
        let mut child = command()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = reader
                .next()
                .expect("the server logs before exiting")
                .unwrap();
            let json: Value = serde_json::from_str(&line).unwrap();
            assert!(json["severity"].is_string(), "{line}");
            if json["message"] == "listening" {
                break json["port"].as_u64().unwrap();
            }
        };
        let service = Service::spawned(child, port);
        let sink = service.lines.clone();
        std::thread::spawn(move || {
            for line in reader.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        service
    }

    fn spawned(child: Child, port: u64) -> Service {
        Service {
            pid: child.id(),
            child: Mutex::new(Some(child)),
            base: format!("http://127.0.0.1:{port}"),
            lines: Arc::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The log lines written since "listening" (`start_logging`).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The first log line (`start_logging`) that `predicate` accepts, waiting up to 5 s.
    pub async fn line_where(&self, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .lines()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| predicate(v));
            if let Some(line) = found {
                return line;
            }
            assert!(Instant::now() < deadline, "no such log line");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM, as Cloud Run does before it stops an instance.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub async fn exit(&self) -> ExitStatus {
        let mut child = self.child.lock().unwrap().take().expect("still running");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time the process has used (user and system), from `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // After the command (which may hold spaces) come `state`, then the numbers from
        // `ppid` (field 4) on: utime and stime are fields 14 and 15, in clock ticks.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<u64> = after
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let ticks = fields.get(14 - 4).unwrap_or(&0) + fields.get(15 - 4).unwrap_or(&0);
        // SAFETY: sysconf only reads a constant of the system.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_millis(ticks * 1000 / per_second)
    }

    /// Resident memory now.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had (`VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }
}
