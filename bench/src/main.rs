//! `cargo run --release -p bench`: the Attiva benchmark (see README.md).
//!
//! 1. `GET /v1/catalog/products` throughput of the real server against a
//!    minimal actix-web handler answering the same bytes (the limit), run
//!    alternately, and the ratio of the medians (target >= 0.8).
//! 2. Cart add-item throughput and latency on SQLite and on PostgreSQL.
//!
//! It prints its figures; it asserts nothing about speed. It exits non-zero
//! only when requests fail (wrong status, I/O errors) or a server cannot start.

mod client;
mod cpu;
mod diag;
mod host;
mod load;

/// The allocator of the `attiva` binary, so the server hosted here runs as
/// it does there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use api::Settings;
use load::{Measured, Plan, Source};
use sea_orm::ConnectionTrait;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CATALOG_PATH: &str = "/v1/catalog/products";
const TARGET_RATIO: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Catalog,
    Carts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Diagnose {
    Off,
    All,
    Only(Vec<String>),
}

impl Diagnose {
    fn from_env() -> Self {
        let value = std::env::var("BENCH_DIAGNOSE").unwrap_or_default();
        match value.trim() {
            "" | "0" => Diagnose::Off,
            "1" | "all" => Diagnose::All,
            names => Diagnose::Only(
                names
                    .split(',')
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
        }
    }

    fn wants(&self, name: &str) -> bool {
        match self {
            Diagnose::Off => false,
            Diagnose::All => true,
            Diagnose::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    seconds: Duration,
    warmup: Duration,
    concurrency: usize,
    rounds: usize,
    cart_concurrency: usize,
    cart_workers: usize,
    cart_pool: u32,
    items_per_cart: u32,
    client_threads: usize,
    postgres_url: String,
    /// Diagnostic catalog targets to add: none, all (`1`), or by name.
    diagnose: Diagnose,
    only: Only,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a valid value")),
        _ => Ok(default),
    }
}

impl Config {
    fn from_env() -> anyhow::Result<Self> {
        let seconds: f64 = env_or("BENCH_SECONDS", 5.0)?;
        let warmup: f64 = env_or("BENCH_WARMUP_SECONDS", 1.0)?;
        anyhow::ensure!(
            seconds > 0.0 && warmup >= 0.0,
            "BENCH_SECONDS must be > 0 and BENCH_WARMUP_SECONDS >= 0"
        );
        let only = match std::env::var("BENCH_ONLY").unwrap_or_default().as_str() {
            "" | "all" => Only::All,
            "catalog" => Only::Catalog,
            "carts" => Only::Carts,
            other => anyhow::bail!("BENCH_ONLY={other:?}: expected catalog, carts or all"),
        };
        let config = Config {
            seconds: Duration::from_secs_f64(seconds),
            warmup: Duration::from_secs_f64(warmup),
            concurrency: env_or("BENCH_CONCURRENCY", 32)?,
            rounds: env_or("BENCH_ROUNDS", 3)?,
            cart_concurrency: env_or("BENCH_CART_CONCURRENCY", 16)?,
            cart_workers: env_or("BENCH_CART_WORKERS", 2)?,
            cart_pool: env_or("BENCH_CART_POOL", 16)?,
            items_per_cart: env_or("BENCH_ITEMS_PER_CART", 10)?,
            client_threads: env_or("BENCH_CLIENT_THREADS", 1)?,
            postgres_url: std::env::var("BENCH_POSTGRES_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_owned()),
            diagnose: Diagnose::from_env(),
            only,
        };
        anyhow::ensure!(
            config.concurrency > 0
                && config.rounds > 0
                && config.cart_concurrency > 0
                && config.cart_workers > 0
                && config.cart_pool > 0
                && (1..=50).contains(&config.items_per_cart)
                && config.client_threads > 0,
            "concurrency, rounds, workers, pool and client threads must be at least 1; \
             BENCH_ITEMS_PER_CART between 1 and 50 (a cart holds at most 50 items)"
        );
        Ok(config)
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn catalog_file() -> PathBuf {
    repo_root().join("catalog/catalog.toml")
}

/// Attiva's settings for a run: a random port, no log subscriber.
fn settings(database_url: &str, workers: usize, pool: u32) -> anyhow::Result<Settings> {
    let pairs = [
        ("ATTIVA_BIND", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("ATTIVA_CATALOG", catalog_file().display().to_string()),
        ("ATTIVA_WORKERS", workers.to_string()),
        ("ATTIVA_DB_MAX_CONNECTIONS", pool.to_string()),
        ("ATTIVA_SHUTDOWN_TIMEOUT_SECS", "1".to_owned()),
    ];
    Ok(Settings::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })?)
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/attiva.db?mode=rwc", dir.path().display())
}

/// 12345.6 -> "12,346".
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}%"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One line of detail per run.
/// `outside_is_noise`: false when the database server runs outside (its
/// CPU is then part of the system under test, not a disturbance).
fn describe(label: &str, m: &Measured, outside_is_noise: bool) -> String {
    let per_request = m
        .server_us_per_request()
        .map_or_else(|| "-".to_owned(), |us| format!("{us:.1}"));
    let mut line = format!(
        "  {label:<24} {:>9} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  errors {}  | cpu: server workers {:>4}, client {:>4}, outside this process {:>4}; server {per_request} us/req",
        thousands(m.rate()),
        m.percentile_ms(50.0),
        m.percentile_ms(99.0),
        m.max_ms(),
        m.errors,
        pct(m.cpu.server_pct),
        pct(m.cpu.client_pct),
        pct(m.cpu.outside_pct),
    );
    if outside_is_noise && m.disturbed() {
        line.push_str("  DISTURBED");
    }
    if let Some(error) = &m.first_error {
        line.push_str(&format!("\n    first error: {error}"));
    }
    line
}

fn watch(server: &host::Hosted) -> cpu::Watch {
    cpu::Watch {
        server: server.workers.clone(),
        client: cpu::Watch::client_threads(),
    }
}

// ---------------------------------------------------------------- catalog

struct CatalogResult {
    /// (name, runs) in the order run.
    targets: Vec<(&'static str, Vec<Measured>)>,
    body_bytes: usize,
}

impl CatalogResult {
    fn runs(&self, name: &str) -> &[Measured] {
        self.targets
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, runs)| runs.as_slice())
    }

    /// The runs the figures are taken from: the undisturbed ones when there
    /// are any, else all (and `false`).
    fn used(&self, name: &str) -> (Vec<&Measured>, bool) {
        let runs = self.runs(name);
        let clean: Vec<&Measured> = runs.iter().filter(|m| !m.disturbed()).collect();
        if clean.is_empty() {
            (runs.iter().collect(), false)
        } else {
            (clean, true)
        }
    }

    fn median_rate(&self, name: &str) -> f64 {
        let mut rates: Vec<f64> = self.used(name).0.iter().map(|m| m.rate()).collect();
        median(&mut rates)
    }

    fn median_of(&self, name: &str, f: impl Fn(&Measured) -> Option<f64>) -> Option<f64> {
        let mut values: Vec<f64> = self.used(name).0.into_iter().filter_map(f).collect();
        (!values.is_empty()).then(|| median(&mut values))
    }

    fn errors(&self) -> u64 {
        self.targets
            .iter()
            .flat_map(|(_, runs)| runs)
            .map(|m| m.errors)
            .sum()
    }
}

async fn bench_catalog(config: &Config) -> anyhow::Result<CatalogResult> {
    println!(
        "== catalog: GET {CATALOG_PATH}, {} connections, {} rounds of {:.0?} (+{:.0?} warm-up) per target, 1 server worker each",
        config.concurrency, config.rounds, config.seconds, config.warmup
    );
    let dir = tempfile::tempdir()?;
    let attiva = host::attiva("attiva", settings(&sqlite_url(&dir), 1, 5)?).await?;
    let body = client::fetch(
        attiva.address,
        &client::get_request(attiva.address, CATALOG_PATH),
        200,
    )
    .await
    .context("fetching the catalog from Attiva")?;
    let minimal = host::minimal(body.clone()).await?;
    let same = client::fetch(
        minimal.address,
        &client::get_request(minimal.address, CATALOG_PATH),
        200,
    )
    .await?;
    anyhow::ensure!(same == body, "the minimal server answers different bytes");
    println!(
        "  body: {} bytes of JSON, identical on both servers",
        body.len()
    );

    let mut servers = vec![minimal, attiva];
    for (name, with_middleware) in [("handler-only", false), ("handler+middleware", true)] {
        if config.diagnose.wants(name) {
            servers.push(host::catalog_handler(name, &catalog_file(), with_middleware).await?);
        }
    }
    for piece in diag::Piece::ALL {
        if config.diagnose.wants(piece.name()) {
            servers.push(host::catalog_piece(&catalog_file(), piece).await?);
        }
    }
    if let Diagnose::Only(names) = &config.diagnose
        && let Some(unknown) = names
            .iter()
            .find(|n| !servers.iter().any(|s| s.name == n.as_str()))
    {
        let known: Vec<&str> = ["handler-only", "handler+middleware"]
            .into_iter()
            .chain(diag::Piece::ALL.iter().map(|p| p.name()))
            .collect();
        for server in servers {
            server.stop().await;
        }
        anyhow::bail!(
            "BENCH_DIAGNOSE: unknown target `{unknown}`; known: {}",
            known.join(", ")
        );
    }

    let mut targets: Vec<(&'static str, Vec<Measured>)> =
        servers.iter().map(|s| (s.name, Vec::new())).collect();
    let outcome: anyhow::Result<()> = async {
        for round in 1..=config.rounds {
            for (server, (_, runs)) in servers.iter().zip(targets.iter_mut()) {
                let request: Arc<[u8]> = client::get_request(server.address, CATALOG_PATH).into();
                let sources = (0..config.concurrency)
                    .map(|_| Source::Fixed(request.clone()))
                    .collect();
                let plan = Plan {
                    address: server.address,
                    expected_status: 200,
                    warmup: config.warmup,
                    duration: config.seconds,
                };
                let measured = load::run(plan, sources, &watch(server)).await?;
                println!(
                    "{}",
                    describe(&format!("round {round} {}", server.name), &measured, true)
                );
                runs.push(measured);
            }
        }
        Ok(())
    }
    .await;
    for server in servers {
        server.stop().await;
    }
    outcome?;
    Ok(CatalogResult {
        targets,
        body_bytes: body.len(),
    })
}

// ---------------------------------------------------------------- carts

struct CartResult {
    backend: &'static str,
    measured: Option<Measured>,
    note: String,
}

async fn bench_cart_on(
    config: &Config,
    backend: &'static str,
    database_url: &str,
) -> anyhow::Result<Measured> {
    let server = host::attiva(
        backend,
        settings(database_url, config.cart_workers, config.cart_pool)?,
    )
    .await?;
    let outcome = cart_load(config, &server).await;
    server.stop().await;
    outcome
}

async fn cart_load(config: &Config, server: &host::Hosted) -> anyhow::Result<Measured> {
    let address: SocketAddr = server.address;
    let watch = watch(server);
    let concurrency = config.cart_concurrency;
    let per_cart = config.items_per_cart;

    // Warm-up, creating carts as needed; its rate sizes the cart supply.
    let started = Instant::now();
    let warm = load::run(
        Plan {
            address,
            expected_status: 201,
            warmup: Duration::ZERO,
            duration: config.warmup.max(Duration::from_millis(500)),
        },
        (0..concurrency)
            .map(|_| Source::carts(address, Vec::new(), per_cart))
            .collect(),
        &watch,
    )
    .await?;
    anyhow::ensure!(
        warm.errors == 0,
        "warm-up failed: {}",
        warm.first_error.as_deref().unwrap_or("?")
    );
    let expected_items = warm.rate() * config.seconds.as_secs_f64() * 2.5;
    let per_connection =
        (expected_items / f64::from(per_cart) / concurrency as f64).ceil() as usize + 1;
    let carts = load::create_carts(address, per_connection * concurrency, concurrency).await?;
    println!(
        "  {}: warm-up {} req/s; {} carts prepared ({per_cart} items each) in {:.1?}",
        server.name,
        thousands(warm.rate()),
        carts.len(),
        started.elapsed() - warm.window
    );
    let mut carts = carts.into_iter();
    let sources = (0..concurrency)
        .map(|_| {
            Source::carts(
                address,
                carts.by_ref().take(per_connection).collect(),
                per_cart,
            )
        })
        .collect();
    let measured = load::run(
        Plan {
            address,
            expected_status: 201,
            warmup: Duration::ZERO,
            duration: config.seconds,
        },
        sources,
        &watch,
    )
    .await?;
    println!(
        "{}",
        describe(server.name, &measured, server.name != "postgres")
    );
    if measured.carts_created_inline > 0 {
        println!(
            "    ({} carts had to be created during the run)",
            measured.carts_created_inline
        );
    }
    Ok(measured)
}

async fn bench_carts(config: &Config) -> Vec<CartResult> {
    println!(
        "== cart add-item: POST /v1/carts/{{id}}/items {}, {} connections, {:.0?}, {} server workers, pool {}, {} items per cart",
        load::ADD_ITEM_BODY,
        config.cart_concurrency,
        config.seconds,
        config.cart_workers,
        config.cart_pool,
        config.items_per_cart
    );
    let mut results = Vec::new();

    let sqlite = async {
        let dir = tempfile::tempdir()?;
        bench_cart_on(config, "sqlite", &sqlite_url(&dir)).await
    }
    .await;
    results.push(match sqlite {
        Ok(m) => CartResult {
            backend: "sqlite",
            measured: Some(m),
            note: String::new(),
        },
        Err(error) => CartResult {
            backend: "sqlite",
            measured: None,
            note: format!("failed: {error:#}"),
        },
    });

    results.push(match PostgresDb::create(&config.postgres_url).await {
        Err(error) => {
            println!("  postgres: skipped (unreachable: {error:#})");
            CartResult {
                backend: "postgres",
                measured: None,
                note: "skipped (unreachable)".to_owned(),
            }
        }
        Ok(db) => {
            let outcome = bench_cart_on(config, "postgres", &db.url).await;
            db.drop_database().await;
            match outcome {
                Ok(m) => CartResult {
                    backend: "postgres",
                    measured: Some(m),
                    note: String::new(),
                },
                Err(error) => CartResult {
                    backend: "postgres",
                    measured: None,
                    note: format!("failed: {error:#}"),
                },
            }
        }
    });
    results
}

/// A fresh PostgreSQL database, dropped at the end.
struct PostgresDb {
    base: String,
    name: String,
    url: String,
}

impl PostgresDb {
    async fn admin(base: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
        let mut options = sea_orm::ConnectOptions::new(format!("{base}/postgres"));
        options
            .max_connections(1)
            .connect_timeout(Duration::from_secs(3))
            .sqlx_logging(false);
        Ok(sea_orm::Database::connect(options).await?)
    }

    async fn create(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let admin = Self::admin(&base).await?;
        let name = format!("attiva_bench_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"))?;
        let _ = admin.close().await;
        Ok(PostgresDb {
            url: format!("{base}/{name}"),
            base,
            name,
        })
    }

    async fn drop_database(self) {
        match Self::admin(&self.base).await {
            Ok(admin) => {
                if let Err(error) = admin
                    .execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        self.name
                    ))
                    .await
                {
                    eprintln!("bench: dropping database {}: {error}", self.name);
                }
                let _ = admin.close().await;
            }
            Err(error) => eprintln!("bench: dropping database {}: {error:#}", self.name),
        }
    }
}

// ---------------------------------------------------------------- main

async fn run(config: Config) -> anyhow::Result<bool> {
    let catalog = match config.only {
        Only::All | Only::Catalog => Some(bench_catalog(&config).await?),
        Only::Carts => None,
    };
    let carts = match config.only {
        Only::All | Only::Carts => bench_carts(&config).await,
        Only::Catalog => Vec::new(),
    };

    println!();
    println!("== summary");
    let mut healthy = true;
    if let Some(catalog) = &catalog {
        let attiva = catalog.median_rate("attiva");
        let minimal = catalog.median_rate("minimal");
        let ratio = attiva / minimal;
        let verdict = if ratio >= TARGET_RATIO {
            "PASS"
        } else {
            "BELOW"
        };
        let quiet = catalog.used("attiva").1 && catalog.used("minimal").1;
        println!(
            "catalog GET    attiva: {} req/s  minimal: {} req/s  ratio {ratio:.2} (target >= {TARGET_RATIO:.2}) {verdict}{}",
            thousands(attiva),
            thousands(minimal),
            if quiet {
                ""
            } else {
                "  NOISY: other processes took CPU during every run of a target; run again on a quiet machine"
            }
        );
        let clean = |name: &str| catalog.runs(name).iter().filter(|m| !m.disturbed()).count();
        println!(
            "  from undisturbed runs when there are any (attiva {}/{}, minimal {}/{} undisturbed: others took < {:.0}% of a core)",
            clean("attiva"),
            catalog.runs("attiva").len(),
            clean("minimal"),
            catalog.runs("minimal").len(),
            load::DISTURBED_PCT
        );
        let pairs: Vec<(f64, bool)> = catalog
            .runs("attiva")
            .iter()
            .zip(catalog.runs("minimal"))
            .map(|(a, m)| (a.rate() / m.rate(), a.disturbed() || m.disturbed()))
            .collect();
        let listed = pairs
            .iter()
            .map(|(r, disturbed)| format!("{r:.2}{}", if *disturbed { "*" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ");
        let mut paired: Vec<f64> = pairs.iter().map(|(r, _)| *r).collect();
        println!(
            "  per round (attiva / the minimal run just before it; * = disturbed): {listed}; median {:.2}",
            median(&mut paired)
        );
        let cpu_a = catalog.median_of("attiva", Measured::server_us_per_request);
        let cpu_m = catalog.median_of("minimal", Measured::server_us_per_request);
        if let (Some(a), Some(m)) = (cpu_a, cpu_m) {
            println!(
                "  server worker CPU per request: attiva {a:.1} us, minimal {m:.1} us (minimal/attiva {:.2})",
                m / a
            );
        }
        for (name, runs) in &catalog.targets {
            let p = |q: f64| {
                let mut v: Vec<f64> = catalog
                    .used(name)
                    .0
                    .iter()
                    .map(|m| m.percentile_ms(q))
                    .collect();
                median(&mut v)
            };
            let us = catalog
                .median_of(name, Measured::server_us_per_request)
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
            let busy = pct(catalog.median_of(name, |m| m.cpu.server_pct));
            println!(
                "  {name:<20} median {:>9} req/s  p50 {:.3} ms  p99 {:.3} ms  server worker busy {busy}, {us} us CPU/req  (runs: {})",
                thousands(catalog.median_rate(name)),
                p(50.0),
                p(99.0),
                runs.iter()
                    .map(|m| format!(
                        "{}{}",
                        thousands(m.rate()),
                        if m.disturbed() { "*" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!("  (body {} bytes)", catalog.body_bytes);
        if catalog.errors() > 0 {
            healthy = false;
            println!("  {} failed catalog requests", catalog.errors());
        }
    }
    for result in &carts {
        match &result.measured {
            Some(m) => {
                println!(
                    "cart add-item  {:<9} {} req/s  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  errors {}{}",
                    format!("{}:", result.backend),
                    thousands(m.rate()),
                    m.percentile_ms(50.0),
                    m.percentile_ms(99.0),
                    m.max_ms(),
                    m.errors,
                    if result.backend == "sqlite" && m.disturbed() {
                        "  (disturbed: other processes took CPU)"
                    } else {
                        ""
                    }
                );
                if m.errors > 0 {
                    healthy = false;
                }
            }
            None => {
                println!(
                    "cart add-item  {:<9} {}",
                    format!("{}:", result.backend),
                    result.note
                );
                if result.note.starts_with("failed") {
                    healthy = false;
                }
            }
        }
    }
    Ok(healthy)
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let config = Config::from_env()?;
    if cfg!(debug_assertions) {
        println!(
            "WARNING: debug build; figures are meaningless. Use `cargo run --release -p bench`."
        );
    }
    println!(
        "attiva bench: {} CPUs; logging off (no tracing subscriber installed, RUST_LOG ignored); load generator: {} thread(s), lean HTTP/1.1 keep-alive client",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        config.client_threads
    );
    if let Some(load) = cpu::load_average()
        && load > 0.5
    {
        println!(
            "WARNING: the machine is already busy (load average {load:.2}); figures will be noisy. \
             The `outside this process` column shows how much CPU others took during each run."
        );
    }
    let runtime = if config.client_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.client_threads)
            .thread_name("bench-client")
            .enable_all()
            .build()?
    };
    let healthy = runtime.block_on(run(config))?;
    Ok(if healthy {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
