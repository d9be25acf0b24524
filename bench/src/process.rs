//! What the benchmark binaries share: their settings from the environment,
//! percentiles, and the `attiva` server as a process of its own (so its
//! peak memory is its own). Each binary includes it with `#[path]`.

#![allow(dead_code)]

use std::time::{Duration, Instant};

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Peak resident memory of process `pid` (VmHWM), MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Builds the `attiva` binary beside this one, when run through cargo.
pub fn build_attiva() -> anyhow::Result<()> {
    if let Ok(cargo) = std::env::var("CARGO") {
        let built = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "api",
                "--bin",
                "attiva",
            ])
            .status()?;
        anyhow::ensure!(built.success(), "building the attiva binary failed");
    }
    Ok(())
}

/// The `attiva` server as its own process.
pub struct Server {
    child: std::process::Child,
    pub base: String,
}

impl Server {
    pub async fn start(database_url: &str, mail_dir: &std::path::Path) -> anyhow::Result<Server> {
        let binary = std::env::current_exe()?.with_file_name("attiva");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/catalog.toml");
        // Only what is set here: nothing from the caller's environment.
        let mut command = std::process::Command::new(&binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        // The server's own pool size unless BENCH_DB_CONNECTIONS says.
        if let Ok(connections) = std::env::var("BENCH_DB_CONNECTIONS") {
            command.env("ATTIVA_DB_MAX_CONNECTIONS", connections);
        }
        // Settings asked for by name, to measure what they cost.
        let asked = std::env::var("BENCH_SERVER_ENV").unwrap_or_default();
        let asked: Vec<(String, String)> = asked
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        let child = command
            .env("ATTIVA_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("ATTIVA_CATALOG", catalog)
            .env("ATTIVA_WORKERS", "2")
            // Fixed, so a token from one run works on the next server.
            .env(
                "ATTIVA_JWT_SECRET",
                "bench-only-jwt-secret-0123456789abcdef",
            )
            .env("ATTIVA_MAIL_DIR", mail_dir)
            .envs(asked)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", binary.display()))?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(server);
            }
            anyhow::ensure!(Instant::now() < deadline, "the server did not get ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn peak_mib(&self) -> f64 {
        peak_rss_mib(self.child.id())
    }

    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
