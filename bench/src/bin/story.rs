//! The purchase story benchmark (issue 4): cart, two items (FE + Incassi e
//! pagamenti), checkout, signed payment webhook, fulfilment — at
//! concurrency 16, on SQLite and on PostgreSQL.
//!
//! The server is the real `attiva` binary, started as its own process (as
//! in production, logging at `info` to a discarded stdout), so its peak
//! memory (VmHWM) is its own. The load generator runs here, on the same
//! 2-core machine. Prints, per database: stories/s, p50/p99, the server's
//! peak memory; on PostgreSQL also the SQL round trips per story, counted
//! by a wire-protocol proxy between the server and PostgreSQL (every Sync
//! or simple Query message is one round trip, BEGIN and COMMIT included),
//! first step by step for one story, then over a timed run with the same
//! concurrency. The timed run that gives stories/s and p99 talks to
//! PostgreSQL directly, so the proxy's CPU does not count against it.
//!
//! The timed run is repeated (BENCH_ROUNDS, default 3) on the same server
//! and each round is printed, then the median round: on a shared 2-core
//! machine one round can be 20% off the next.
//!
//! `cargo run --release -p bench --bin story` (env: BENCH_SECONDS,
//! BENCH_ROUNDS, BENCH_STORY_CONCURRENCY, BENCH_DB_CONNECTIONS to override
//! the server's pool size, BENCH_SERVER_ENV="NAME=value;NAME=value" for
//! other server settings, e.g. `RUST_LOG=warn;ATTIVA_WORKERS=4`,
//! BENCH_PRINT_SQL=1 to print every message sent to PostgreSQL,
//! BENCH_DATABASES=sqlite,postgres to pick the databases). It builds
//! the `attiva` binary first.

#[path = "../process.rs"]
mod process;

use process::{Server, build_attiva, env_number, percentile};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

/// Round trips seen by the proxy.
#[derive(Default)]
struct Trips {
    /// A simple `Q`uery, or a `S`ync ending an extended-protocol exchange
    /// (Parse/Bind/Execute...): SQL sent and answered, BEGIN and COMMIT
    /// included.
    sql: AtomicU64,
    /// A `S`ync with nothing before it: sqlx's pool pings every connection
    /// it gets back (`PoolConnection` release), which cannot be turned off.
    pings: AtomicU64,
}

impl Trips {
    fn read(&self) -> (u64, u64) {
        (
            self.sql.load(Ordering::SeqCst),
            self.pings.load(Ordering::SeqCst),
        )
    }

    fn reset(&self) {
        self.sql.store(0, Ordering::SeqCst);
        self.pings.store(0, Ordering::SeqCst);
    }
}

/// Counts PostgreSQL round trips (see [`Trips`]) on the frontend stream.
async fn proxy(upstream: String, counter: Arc<Trips>) -> anyhow::Result<u16> {
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
                let mut exchange_open = false;
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
                        if started {
                            match buffer[0] {
                                b'Q' => {
                                    counter.sql.fetch_add(1, Ordering::Relaxed);
                                }
                                b'S' if exchange_open => {
                                    counter.sql.fetch_add(1, Ordering::Relaxed);
                                    exchange_open = false;
                                }
                                b'S' => {
                                    counter.pings.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => exchange_open = true,
                            }
                        }
                        if started && std::env::var_os("BENCH_PRINT_SQL").is_some() {
                            let text = String::from_utf8_lossy(&buffer[5..total]);
                            let text: String = text.chars().take(400).collect();
                            eprintln!("{} {}", buffer[0] as char, text.replace('\0', " "));
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

fn holder(piva: &str) -> Value {
    json!({"kind": "persona_giuridica", "denominazione": "Bench S.r.l.", "codice_fiscale": piva, "partita_iva": piva,
        "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121", "comune": "Milano", "provincia": "MI", "nazione": "IT"}})
}

/// Signs up and logs in the buying customer; returns the access token.
async fn customer(client: &reqwest::Client, base: &str, seed: u64) -> anyhow::Result<String> {
    let password = "tramonto-sul-lago-di-como-42";
    let signup = client
        .post(format!("{base}/v1/customers"))
        .json(&json!({"email": "story@example.com", "password": password, "holder": holder(&partita_iva(seed))}))
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
    Ok(login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// One purchase story; `step` is called after each request with its name.
async fn story(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    piva: &str,
    mut step: impl FnMut(&'static str),
) -> anyhow::Result<()> {
    let cart: Value = client
        .post(format!("{base}/v1/carts"))
        .json(&json!({"channel": "web"}))
        .send()
        .await?
        .json()
        .await?;
    step("create cart");
    let (id, cart_token) = (
        cart["id"].as_str().unwrap_or_default(),
        cart["token"].as_str().unwrap_or_default(),
    );
    let items = format!("{base}/v1/carts/{id}/items");
    let with_fe: Value = client
        .post(&items)
        .header("x-cart-token", cart_token)
        .json(&json!({"product_code": "fe", "years": 1}))
        .send()
        .await?
        .json()
        .await?;
    step("add fe");
    let fe = with_fe["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let added = client
        .post(&items)
        .header("x-cart-token", cart_token)
        .json(&json!({"product_code": "incassi-pagamenti", "base_item_id": fe}))
        .send()
        .await?;
    anyhow::ensure!(added.status().as_u16() == 201, "add: {}", added.status());
    step("add incassi-pagamenti");
    let order = client
        .post(format!("{base}/v1/carts/{id}/checkout"))
        .bearer_auth(token)
        .header("x-cart-token", cart_token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"payment_method": "card", "accept_terms": true, "activation_email": "amm@example.com", "holder": holder(piva)}))
        .send()
        .await?;
    anyhow::ensure!(
        order.status().as_u16() == 201,
        "checkout: {}",
        order.status()
    );
    let order: Value = order.json().await?;
    step("checkout");
    let body = serde_json::to_vec(
        &json!({"id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "type": "payment.succeeded",
        "order_number": order["number"], "amount": order["totals"]["total"], "currency": "EUR", "provider_payment_id": "pi_bench"}),
    )?;
    let signature = api::payments::sign("dev-webhook-secret", unix_now(), &body);
    let paid: Value = client
        .post(format!("{base}/v1/payments/webhook"))
        .header("payment-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(paid["outcome"] == "fulfilled", "webhook: {paid}");
    step("webhook + fulfilment");
    Ok(())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `.eml` files written so far.
fn mails(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .count()
    })
}

struct Outcome {
    stories: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
    /// Activation emails delivered by the end of the run (and a grace
    /// period): delivery is part of the work the server keeps up with.
    delivered: usize,
}

/// Runs stories at `concurrency` for `seconds`.
async fn timed(
    base: &str,
    token: &str,
    mail_dir: &std::path::Path,
    seconds: u64,
    concurrency: usize,
    next: Arc<AtomicU64>,
) -> anyhow::Result<Outcome> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let before = mails(mail_dir);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, token, next) = (
            client.clone(),
            base.to_owned(),
            token.to_owned(),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let (mut stories, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let piva = partita_iva(next.fetch_add(1, Ordering::Relaxed));
                match story(&client, &base, &token, &piva, |_| {}).await {
                    Ok(()) => stories.push(t0.elapsed()),
                    Err(error) => {
                        if errors == 0 {
                            eprintln!("story failed: {error:#}");
                        }
                        errors += 1;
                    }
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
    stories.sort();
    // Let the outbox catch up (bounded), then count the emails out.
    let expected = before + stories.len();
    let grace = Instant::now() + Duration::from_secs(10);
    while mails(mail_dir) < expected && Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Outcome {
        stories,
        errors,
        elapsed,
        delivered: mails(mail_dir) - before,
    })
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.stories.len() as f64 / self.elapsed.as_secs_f64()
    }
}

fn report(name: &str, outcome: &Outcome, peak_mib: f64) {
    let count = outcome.stories.len();
    println!(
        "story {name:15} {:7.1} stories/s  p50 {:6.1} ms  p99 {:6.1} ms  errors {}  emails delivered {}/{count}  server peak memory {peak_mib:.1} MiB",
        outcome.rate(),
        percentile(&outcome.stories, 50.0),
        percentile(&outcome.stories, 99.0),
        outcome.errors,
        outcome.delivered,
    );
}

/// Round trips of one story, step by step (after warm-up, so each
/// connection has its statements prepared), and of its email's delivery.
async fn trace(
    base: &str,
    token: &str,
    mail_dir: &std::path::Path,
    next: &AtomicU64,
    trips: &Trips,
) -> anyhow::Result<()> {
    const WARM_UP: usize = 40;
    let client = reqwest::Client::new();
    let before_warm_up = mails(mail_dir);
    for _ in 0..WARM_UP {
        let piva = partita_iva(next.fetch_add(1, Ordering::Relaxed));
        story(&client, base, token, &piva, |_| {}).await?;
    }
    // Wait for the warm-up's emails, so their delivery is not counted below.
    let deadline = Instant::now() + Duration::from_secs(10);
    while mails(mail_dir) < before_warm_up + WARM_UP && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_mail = mails(mail_dir);
    let mut steps: Vec<(&str, (u64, u64))> = Vec::new();
    let mut last = trips.read();
    let piva = partita_iva(next.fetch_add(1, Ordering::Relaxed));
    story(&client, base, token, &piva, |name| {
        let now = trips.read();
        steps.push((name, (now.0 - last.0, now.1 - last.1)));
        last = now;
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while mails(mail_dir) <= before_mail && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let now = trips.read();
    steps.push((
        "email delivery (background)",
        (now.0 - last.0, now.1 - last.1),
    ));
    let sql: u64 = steps.iter().map(|(_, (n, _))| n).sum();
    let pings: u64 = steps.iter().map(|(_, (_, p))| p).sum();
    let listed: Vec<String> = steps
        .iter()
        .map(|(n, (c, p))| format!("{n} {c} (+{p})"))
        .collect();
    println!(
        "SQL round trips of one story (postgres), (+pool pings): {} = {sql} (+{pings})",
        listed.join(", ")
    );
    Ok(())
}

/// One database: the timed run, and on PostgreSQL the counted ones.
async fn bench_database(
    name: &str,
    direct_url: &str,
    counted_url: Option<(&str, &Trips)>,
    seconds: u64,
    concurrency: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(seed + 1));
    let dir = tempfile::tempdir()?;
    let mail_dir = dir.path().join("mail");
    let server = Server::start(direct_url, &mail_dir).await?;
    let token = customer(&reqwest::Client::new(), &server.base, seed).await?;
    let rounds = env_number("BENCH_ROUNDS", 3).max(1);
    let mut outcomes = Vec::new();
    for round in 1..=rounds {
        let outcome = timed(
            &server.base,
            &token,
            &mail_dir,
            seconds,
            concurrency,
            Arc::clone(&next),
        )
        .await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                server.stop();
                return Err(error);
            }
        };
        report(
            &format!("{name} {round}/{rounds}"),
            &outcome,
            server.peak_mib(),
        );
        outcomes.push(outcome);
    }
    let peak = server.peak_mib();
    server.stop();
    // The median round by throughput, reported whole (its p99 with it).
    outcomes.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    report(
        &format!("{name} median"),
        &outcomes[outcomes.len() / 2],
        peak,
    );
    let Some((url, trips)) = counted_url else {
        return Ok(());
    };
    // The same database through the counting proxy: one story step by step,
    // then a shorter run at the same concurrency.
    let server = Server::start(url, &mail_dir).await?;
    trace(&server.base, &token, &mail_dir, &next, trips).await?;
    let counted_seconds = seconds.div_ceil(2).max(3);
    trips.reset();
    let counted = timed(
        &server.base,
        &token,
        &mail_dir,
        counted_seconds,
        concurrency,
        Arc::clone(&next),
    )
    .await?;
    let (sql, pings) = trips.read();
    server.stop();
    let stories = counted.stories.len().max(1) as f64;
    println!(
        "SQL round trips at concurrency {concurrency} over {counted_seconds}s through the proxy: {:.1} per story, plus {:.1} pool pings ({} stories; email delivery and background jobs included)",
        sql as f64 / stories,
        pings as f64 / stories,
        counted.stories.len(),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 10);
    let concurrency = env_number("BENCH_STORY_CONCURRENCY", 16) as usize;
    build_attiva()?;
    println!(
        "== purchase story: cart + fe + incassi-pagamenti + checkout + signed webhook + fulfilment, concurrency {concurrency}, {seconds}s, server: attiva process with 2 workers"
    );
    let only = std::env::var("BENCH_DATABASES").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/story.db?mode=rwc", dir.path().display());
    if only.contains("sqlite") {
        bench_database("sqlite", &sqlite, None, seconds, concurrency, 1_000_000).await?;
    }
    if !only.contains("postgres") {
        return Ok(());
    }

    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await;
    match admin {
        Err(error) => println!("PostgreSQL: skipped (unreachable: {error})"),
        Ok(admin) => {
            use sea_orm::ConnectionTrait;
            let name = format!("attiva_story_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let counter = Arc::new(Trips::default());
            let port = proxy("127.0.0.1:5432".to_owned(), Arc::clone(&counter)).await?;
            let direct = format!("postgres://postgres@127.0.0.1:5432/{name}");
            // Plain text, so the proxy can read the protocol.
            let counted = format!("postgres://postgres@127.0.0.1:{port}/{name}?sslmode=disable");
            let outcome = bench_database(
                "postgres",
                &direct,
                Some((&counted, &counter)),
                seconds,
                concurrency,
                5_000_000,
            )
            .await;
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            outcome?;
        }
    }
    println!(
        "targets (PostgreSQL, the median round): >= 150 stories/s, p99 <= 150 ms, <= 25 round trips/story, server memory < 100 MiB (issue 4); >= 320 stories/s, p99 <= 100 ms (issue 9)"
    );
    Ok(())
}
