//! The purchase story benchmark (issue 4): cart, two items (FE + Incassi e
//! pagamenti), checkout, signed payment webhook, fulfilment — at
//! concurrency 16, on SQLite and on PostgreSQL. Prints stories/s, p50/p99,
//! SQL round trips per story on PostgreSQL (counted by a wire-protocol
//! proxy between the server and PostgreSQL: every Sync or simple Query
//! message is one round trip, BEGIN and COMMIT included), and the peak
//! memory of this process (server and load generator share it).
//!
//! `cargo run --release -p bench --bin story` (env: BENCH_SECONDS,
//! BENCH_STORY_CONCURRENCY).

use api::Application;
use api::settings::Settings;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

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

/// A valid Partita IVA for `n` (its check digit computed).
fn partita_iva(n: u64) -> String {
    let first: Vec<u32> = format!("{:010}", n % 10_000_000_000)
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let sum: u32 = first
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                *d
            } else {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    format!(
        "{}{check}",
        first.iter().map(|d| d.to_string()).collect::<String>()
    )
}

/// Counts PostgreSQL round trips: frontend `Q` (simple query) and `S`
/// (sync, ending an extended-protocol exchange) messages.
async fn proxy(upstream: String, counter: Arc<AtomicU64>) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                // Frontend stream: the startup message has no type byte.
                let mut buffer = Vec::new();
                let mut started = false;
                let mut chunk = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut chunk).await {
                    if n == 0 || server_write.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    loop {
                        let header = if started { 5 } else { 4 };
                        if buffer.len() < header {
                            break;
                        }
                        let len_at = if started { 1 } else { 0 };
                        let len = u32::from_be_bytes([
                            buffer[len_at],
                            buffer[len_at + 1],
                            buffer[len_at + 2],
                            buffer[len_at + 3],
                        ]) as usize;
                        let total = len + len_at;
                        if buffer.len() < total {
                            break;
                        }
                        if started && matches!(buffer[0], b'Q' | b'S') {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        // SSLRequest/startup: the next message is the real start.
                        let code = if started {
                            0
                        } else {
                            u32::from_be_bytes([buffer[4], buffer[5], buffer[6], buffer[7]])
                        };
                        if !started && code != 80_877_103 {
                            started = true;
                        }
                        buffer.drain(..total);
                    }
                }
                down.abort();
            });
        }
    });
    Ok(port)
}

struct Outcome {
    stories: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
    /// PostgreSQL round trips during the measured window.
    round_trips: Option<u64>,
}

async fn run(
    database_url: &str,
    seconds: u64,
    concurrency: usize,
    seed: u64,
    trips: Option<&AtomicU64>,
) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/catalog.toml");
    let mail = dir.path().join("mail").display().to_string();
    let pairs = [
        ("ATTIVA_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", database_url),
        ("ATTIVA_CATALOG", catalog),
        ("ATTIVA_WORKERS", "2"),
        ("ATTIVA_DB_MAX_CONNECTIONS", "16"),
        ("ATTIVA_MAIL_DIR", mail.as_str()),
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
    let holder = |piva: &str| {
        json!({"kind": "persona_giuridica", "denominazione": "Bench S.r.l.", "codice_fiscale": piva, "partita_iva": piva,
            "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121", "comune": "Milano", "provincia": "MI", "nazione": "IT"}})
    };
    let account = partita_iva(seed);
    let signup = client
        .post(format!("{base}/v1/customers"))
        .json(&json!({"email": "story@example.com", "password": password, "holder": holder(&account)}))
        .send()
        .await?;
    anyhow::ensure!(
        signup.status().as_u16() == 201,
        "sign-up: {}",
        signup.status()
    );
    let login: Value = client
        .post(format!("{base}/v1/auth/customer/login"))
        .json(&json!({"email": "story@example.com", "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let next = Arc::new(AtomicU64::new(seed + 1));
    // Count the stories only, not start-up (migrations), sign-up and login.
    if let Some(trips) = trips {
        trips.store(0, Ordering::Relaxed);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, token, next) = (
            client.clone(),
            base.clone(),
            token.clone(),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let (mut stories, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let piva = partita_iva(next.fetch_add(1, Ordering::Relaxed));
                let result: anyhow::Result<()> = async {
                    let cart: Value = client.post(format!("{base}/v1/carts")).json(&json!({"channel": "web"})).send().await?.json().await?;
                    let (id, cart_token) = (cart["id"].as_str().unwrap_or_default(), cart["token"].as_str().unwrap_or_default());
                    let items = format!("{base}/v1/carts/{id}/items");
                    let with_fe: Value = client.post(&items).header("x-cart-token", cart_token).json(&json!({"product_code": "fe", "years": 1})).send().await?.json().await?;
                    let fe = with_fe["items"][0]["id"].as_str().unwrap_or_default().to_owned();
                    let added = client.post(&items).header("x-cart-token", cart_token)
                        .json(&json!({"product_code": "incassi-pagamenti", "base_item_id": fe})).send().await?;
                    anyhow::ensure!(added.status().as_u16() == 201, "add: {}", added.status());
                    let order = client.post(format!("{base}/v1/carts/{id}/checkout"))
                        .bearer_auth(&token).header("x-cart-token", cart_token).header("idempotency-key", uuid::Uuid::new_v4().to_string())
                        .json(&json!({"payment_method": "card", "accept_terms": true, "activation_email": "amm@example.com", "holder": holder(&piva)}))
                        .send().await?;
                    anyhow::ensure!(order.status().as_u16() == 201, "checkout: {}", order.status());
                    let order: Value = order.json().await?;
                    let body = serde_json::to_vec(&json!({"id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "type": "payment.succeeded",
                        "order_number": order["number"], "amount": order["totals"]["total"], "currency": "EUR", "provider_payment_id": "pi_bench"}))?;
                    let now = chrono_now();
                    let signature = api::routes::payments::sign("dev-webhook-secret", now, &body);
                    let paid: Value = client.post(format!("{base}/v1/payments/webhook")).header("payment-signature", signature)
                        .header("content-type", "application/json").body(body).send().await?.json().await?;
                    anyhow::ensure!(paid["outcome"] == "fulfilled", "webhook: {paid}");
                    Ok(())
                }
                .await;
                match result {
                    Ok(()) => stories.push(t0.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (stories, errors)
        }));
    }
    let mut stories = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (done, failed) = worker.await?;
        stories.extend(done);
        errors += failed;
    }
    let elapsed = started.elapsed();
    let round_trips = trips.map(|t| t.load(Ordering::Relaxed));
    stories.sort();
    handle.stop(true).await;
    let _ = server.await;
    Ok(Outcome {
        stories,
        errors,
        elapsed,
        round_trips,
    })
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn report(name: &str, outcome: &Outcome) {
    let count = outcome.stories.len();
    let per_story = outcome
        .round_trips
        .map_or("n/a (in process)".to_owned(), |rt| {
            format!("{:.1}", rt as f64 / count.max(1) as f64)
        });
    println!(
        "story {name:9} {:7.1} stories/s  p50 {:7.1} ms  p99 {:7.1} ms  errors {}  SQL round trips/story {per_story}",
        count as f64 / outcome.elapsed.as_secs_f64(),
        percentile(&outcome.stories, 50.0),
        percentile(&outcome.stories, 99.0),
        outcome.errors
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 10);
    let concurrency = env_number("BENCH_STORY_CONCURRENCY", 16) as usize;
    println!(
        "== purchase story: cart + fe + incassi-pagamenti + checkout + signed webhook + fulfilment, concurrency {concurrency}, {seconds}s, 2 server workers"
    );
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/story.db?mode=rwc", dir.path().display());
    let outcome = run(&sqlite, seconds, concurrency, 1_000_000, None).await?;
    report("sqlite", &outcome);

    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await;
    match admin {
        Err(error) => println!("PostgreSQL: skipped (unreachable: {error})"),
        Ok(admin) => {
            use sea_orm::ConnectionTrait;
            let name = format!("attiva_story_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let counter = Arc::new(AtomicU64::new(0));
            let port = proxy("127.0.0.1:5432".to_owned(), Arc::clone(&counter)).await?;
            // Plain text, so the proxy can read the protocol.
            let url = format!("postgres://postgres@127.0.0.1:{port}/{name}?sslmode=disable");
            let outcome = run(&url, seconds, concurrency, 5_000_000, Some(&counter)).await;
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            report("postgres", &outcome?);
        }
    }
    println!(
        "peak memory (VmHWM, servers + load generator in one process): {:.1} MiB",
        peak_rss_mib()
    );
    println!(
        "targets (PostgreSQL): >= 150 stories/s, p99 <= 150 ms, <= 25 round trips/story, server memory < 100 MiB"
    );
    Ok(())
}
