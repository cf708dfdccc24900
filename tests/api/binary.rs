//! The real `machinemate-api` binary as its own process, for what only a process shows:
//! its memory (resident and peak), its behaviour under load, its logs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Service {
    child: Child,
    pub base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let service = Service {
            child: command.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        };
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
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
