//! Login benchmark (issue 3): while 32 logins run at once (argon2id
//! saturating the blocking pool), how fast does `GET /health/live` answer?
//! Prints the health p50/p99 next to login throughput and latency, and the
//! process's peak memory (server and load generator share this process).
//!
//! `cargo run --release -p bench --bin logins` (env: BENCH_SECONDS,
//! BENCH_LOGIN_CONCURRENCY).

use api::Application;
use api::config::settings::Settings;
use serde_json::json;
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 10);
    let concurrency = env_number("BENCH_LOGIN_CONCURRENCY", 32) as usize;
    let dir = tempfile::tempdir()?;
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/catalog.toml");
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let mail = dir.path().join("mail").display().to_string();
    let pairs = [
        ("ATTIVA_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", url.as_str()),
        ("ATTIVA_CATALOG", catalog),
        ("ATTIVA_WORKERS", "2"),
        ("ATTIVA_MAIL_DIR", mail.as_str()),
        ("ATTIVA_LOGIN_MAX_FAILURES", "1000000"),
        ("ATTIVA_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000000"),
        ("ATTIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000000"),
    ];
    let settings = Settings::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })?;
    let app = Application::build(&settings).await?;
    let base = format!("http://{}", app.address());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;

    let password = "tramonto-sul-lago-di-como-42";
    let signup = client
        .post(format!("{base}/v1/customers"))
        .json(&json!({
            "email": "bench@example.com", "password": password,
            "holder": {"kind": "persona_giuridica", "denominazione": "Bench S.r.l.",
                "codice_fiscale": "01234567897", "partita_iva": "01234567897",
                "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121",
                    "comune": "Milano", "provincia": "MI", "nazione": "IT"}}
        }))
        .send()
        .await?;
    anyhow::ensure!(
        signup.status().as_u16() == 201,
        "sign-up failed: {}",
        signup.status()
    );
    let rss_idle = peak_rss_mib();

    // Health alone first: the baseline.
    let health = |deadline: Instant| {
        let client = client.clone();
        let url = format!("{base}/health/live");
        async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let ok = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    latencies.push(started.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies
        }
    };
    let mut idle = health(Instant::now() + Duration::from_secs(3)).await;
    idle.sort();

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let login_url = format!("{base}/v1/auth/customer/login");
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = login_url.clone();
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let started = Instant::now();
                let reply = client
                    .post(&url)
                    .json(&json!({"email": "bench@example.com", "password": password}))
                    .send()
                    .await;
                match reply {
                    Ok(r) if r.status().as_u16() == 200 => latencies.push(started.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut busy = health(deadline).await;
    busy.sort();
    let mut logins = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (latencies, failed) = worker.await?;
        logins.extend(latencies);
        errors += failed;
    }
    logins.sort();
    let rss_peak = peak_rss_mib();

    println!(
        "== logins: {concurrency} concurrent POST /v1/auth/customer/login for {seconds}s (argon2id m=19MiB t=2 p=1), 2 server workers, SQLite"
    );
    println!(
        "health/live alone:        p50 {:7.3} ms  p99 {:7.3} ms  ({} requests)",
        ms(percentile(&idle, 50.0)),
        ms(percentile(&idle, 99.0)),
        idle.len()
    );
    println!(
        "health/live under logins: p50 {:7.3} ms  p99 {:7.3} ms  ({} requests)  target p99 < 10 ms: {}",
        ms(percentile(&busy, 50.0)),
        ms(percentile(&busy, 99.0)),
        busy.len(),
        if percentile(&busy, 99.0) < Duration::from_millis(10) {
            "PASS"
        } else {
            "ABOVE"
        }
    );
    println!(
        "logins: {:.1}/s  p50 {:.1} ms  p99 {:.1} ms  errors {errors}",
        logins.len() as f64 / seconds as f64,
        ms(percentile(&logins, 50.0)),
        ms(percentile(&logins, 99.0)),
    );
    println!(
        "peak memory (VmHWM, server + load generator in one process): {rss_peak:.1} MiB (after sign-up: {rss_idle:.1} MiB)"
    );
    handle.stop(true).await;
    let _ = server.await;
    Ok(())
}
