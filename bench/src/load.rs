//! Closed-loop load: N keep-alive connections, each sending its next
//! request as soon as the previous response is read, for a warm-up and then
//! a measured window. Responses completed inside the window are counted;
//! their latencies (request written to response read) are kept and sorted.

use crate::client::{Connection, post_json};
use crate::cpu::{Snapshot, Usage, Watch};
use anyhow::Context;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The body of every add-item request: an add-on without a base is
/// accepted (201) and shown as an `addon_requires_base` violation.
pub const ADD_ITEM_BODY: &str = r#"{"product_code":"spazio-1gb","quantity":1}"#;

/// CPU taken outside this process, in percent of one core, above which a
/// run counts as disturbed.
pub const DISTURBED_PCT: f64 = 25.0;

/// A cart the load can add items to.
#[derive(Debug, Clone)]
pub struct CartRef {
    pub id: String,
    pub token: String,
}

/// Creates a cart over `conn`.
pub async fn create_cart(conn: &mut Connection, address: SocketAddr) -> anyhow::Result<CartRef> {
    let request = post_json(address, "/v1/carts", "", r#"{"channel":"web"}"#);
    let response = conn.send(&request).await?;
    anyhow::ensure!(
        response.status == 201,
        "creating a cart: expected 201, got {}: {}",
        response.status,
        String::from_utf8_lossy(response.body)
    );
    let cart: serde_json::Value = serde_json::from_slice(response.body)?;
    let field = |name: &str| {
        cart[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the new cart has no `{name}`"))
    };
    Ok(CartRef {
        id: field("id")?,
        token: field("token")?,
    })
}

/// Creates `count` carts over `concurrency` connections.
pub async fn create_carts(
    address: SocketAddr,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<CartRef>> {
    let concurrency = concurrency.clamp(1, count.max(1));
    let mut tasks = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let share = count / concurrency + usize::from(i < count % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(address).await?;
            let mut carts = Vec::with_capacity(share);
            for _ in 0..share {
                carts.push(create_cart(&mut conn, address).await?);
            }
            anyhow::Ok(carts)
        }));
    }
    let mut carts = Vec::with_capacity(count);
    for task in tasks {
        carts.extend(task.await??);
    }
    Ok(carts)
}

fn add_item_request(address: SocketAddr, cart: &CartRef) -> Vec<u8> {
    post_json(
        address,
        &format!("/v1/carts/{}/items", cart.id),
        &format!("X-Cart-Token: {}\r\n", cart.token),
        ADD_ITEM_BODY,
    )
}

/// Where a connection's requests come from.
pub enum Source {
    /// The same request every time.
    Fixed(Arc<[u8]>),
    /// Add-item requests: `per_cart` items into each cart, then the next
    /// cart; when the prepared carts run out, a new one is created on the
    /// connection (outside the latency measurement, counted).
    Carts {
        address: SocketAddr,
        carts: VecDeque<CartRef>,
        per_cart: u32,
        current: Option<(Vec<u8>, u32)>,
        created_inline: u64,
    },
}

impl Source {
    pub fn carts(address: SocketAddr, carts: Vec<CartRef>, per_cart: u32) -> Self {
        Source::Carts {
            address,
            carts: carts.into(),
            per_cart: per_cart.max(1),
            current: None,
            created_inline: 0,
        }
    }

    async fn next(&mut self, conn: &mut Connection) -> anyhow::Result<&[u8]> {
        match self {
            Source::Fixed(request) => Ok(request),
            Source::Carts {
                address,
                carts,
                per_cart,
                current,
                created_inline,
            } => {
                if current.as_ref().is_none_or(|(_, used)| used >= per_cart) {
                    let cart = match carts.pop_front() {
                        Some(cart) => cart,
                        None => {
                            *created_inline += 1;
                            create_cart(conn, *address).await?
                        }
                    };
                    *current = Some((add_item_request(*address, &cart), 0));
                }
                match current {
                    Some((request, used)) => {
                        *used += 1;
                        Ok(request.as_slice())
                    }
                    None => anyhow::bail!("no cart to add to"),
                }
            }
        }
    }

    fn created_inline(&self) -> u64 {
        match self {
            Source::Fixed(_) => 0,
            Source::Carts { created_inline, .. } => *created_inline,
        }
    }
}

/// What one load run is.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub address: SocketAddr,
    pub expected_status: u16,
    pub warmup: Duration,
    pub duration: Duration,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Responses with the expected status inside the window.
    pub ok: u64,
    /// Other statuses and I/O errors inside the window.
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    /// Latencies of the `ok` responses, sorted, in nanoseconds.
    latencies: Vec<u64>,
    pub carts_created_inline: u64,
    pub cpu: Usage,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The latency at percentile `p` (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let n = self.latencies.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        self.latencies[index] as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies
            .last()
            .map_or(f64::NAN, |&ns| ns as f64 / 1e6)
    }

    /// Other processes took more than a quarter of a core during the run:
    /// its throughput says more about them than about the server.
    pub fn disturbed(&self) -> bool {
        self.cpu.outside_pct.is_some_and(|pct| pct > DISTURBED_PCT)
    }

    /// Server worker CPU time per answered request, in microseconds.
    pub fn server_us_per_request(&self) -> Option<f64> {
        let seconds = self.cpu.server_seconds?;
        (self.ok > 0).then(|| seconds * 1e6 / self.ok as f64)
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<u64>,
    carts_created_inline: u64,
}

impl Tally {
    fn fail(&mut self, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(error);
        }
    }
}

async fn drive(
    mut conn: Connection,
    mut source: Source,
    plan: Plan,
    measure_from: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally {
        latencies: Vec::with_capacity(64 * 1024),
        ..Tally::default()
    };
    loop {
        if Instant::now() >= end {
            break;
        }
        let request = match source.next(&mut conn).await {
            Ok(request) => request,
            Err(error) => {
                tally.fail(format!("preparing a request: {error:#}"));
                break;
            }
        };
        let started = Instant::now();
        let result = conn.send(request).await;
        let finished = Instant::now();
        let counted = finished >= measure_from && finished <= end;
        match result {
            Ok(response) if response.status == plan.expected_status => {
                if counted {
                    tally.ok += 1;
                    tally
                        .latencies
                        .push(finished.duration_since(started).as_nanos() as u64);
                }
            }
            Ok(response) => {
                let error = format!(
                    "status {} (expected {}): {}",
                    response.status,
                    plan.expected_status,
                    String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
                );
                if counted {
                    tally.fail(error);
                }
            }
            Err(error) => {
                tally.fail(format!("I/O: {error}"));
                match Connection::open(plan.address).await {
                    Ok(fresh) => conn = fresh,
                    Err(error) => {
                        tally.fail(format!("reconnecting: {error}"));
                        break;
                    }
                }
            }
        }
    }
    tally.carts_created_inline = source.created_inline();
    tally
}

/// Runs one closed-loop load: one connection per source.
pub async fn run(plan: Plan, sources: Vec<Source>, watch: &Watch) -> anyhow::Result<Measured> {
    let mut connections = Vec::with_capacity(sources.len());
    for _ in &sources {
        connections.push(
            Connection::open(plan.address)
                .await
                .with_context(|| format!("connecting to {}", plan.address))?,
        );
    }
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let tasks: Vec<_> = connections
        .into_iter()
        .zip(sources)
        .map(|(conn, source)| tokio::spawn(drive(conn, source, plan, measure_from, end)))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let before = Snapshot::take(watch);
    tokio::time::sleep_until(end.into()).await;
    let after = Snapshot::take(watch);

    // A stuck server must not hang the benchmark.
    let deadline = tokio::time::Instant::from(end) + Duration::from_secs(30);
    let mut total = Tally::default();
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(deadline, task).await {
            Ok(joined) => {
                let tally = joined.context("a load task panicked")?;
                total.ok += tally.ok;
                total.errors += tally.errors;
                if total.first_error.is_none() {
                    total.first_error = tally.first_error;
                }
                total.latencies.extend(tally.latencies);
                total.carts_created_inline += tally.carts_created_inline;
            }
            Err(_) => {
                abort.abort();
                total.fail("no response within 30 s after the end of the run".to_owned());
            }
        }
    }
    total.latencies.sort_unstable();
    Ok(Measured {
        ok: total.ok,
        errors: total.errors,
        first_error: total.first_error,
        window: plan.duration,
        latencies: total.latencies,
        carts_created_inline: total.carts_created_inline,
        cpu: Usage::between(&before, &after),
    })
}
