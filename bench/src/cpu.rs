//! CPU accounting from `/proc` (Linux; elsewhere every figure is `None`):
//! how busy the server's worker threads, the load generator and the whole
//! machine were during a measurement. A server worker near 100 % means the
//! server was the bottleneck, which is what a throughput figure should
//! measure; the server's CPU time per request is the efficiency figure
//! that does not depend on who the bottleneck was.

use std::time::Instant;

/// Clock ticks per second of `/proc` times (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The threads of this process: (tid, name).
pub fn threads() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| {
            let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            Some((tid, name.trim_end().to_owned()))
        })
        .collect()
}

/// The tids of the threads whose name starts with `prefix`.
pub fn threads_named(prefix: &str) -> Vec<u32> {
    threads()
        .into_iter()
        .filter(|(_, name)| name.starts_with(prefix))
        .map(|(tid, _)| tid)
        .collect()
}

/// utime + stime of a `stat` file, in ticks.
fn stat_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    // The name (field 2) may hold spaces; fields are counted after its `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn threads_ticks(tids: &[u32]) -> Option<u64> {
    if tids.is_empty() {
        return None;
    }
    tids.iter()
        .map(|tid| stat_ticks(&format!("/proc/self/task/{tid}/stat")))
        .sum()
}

/// (busy, total) ticks of all CPUs, from `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user)
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Which threads to account for.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub server: Vec<u32>,
    pub client: Vec<u32>,
}

impl Watch {
    /// The load generator: the main thread and the `bench-client` threads.
    pub fn client_threads() -> Vec<u32> {
        let pid = std::process::id();
        threads()
            .into_iter()
            .filter(|(tid, name)| *tid == pid || name.starts_with("bench-client"))
            .map(|(tid, _)| tid)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    server: Option<u64>,
    client: Option<u64>,
    process: Option<u64>,
    machine: Option<(u64, u64)>,
}

impl Snapshot {
    pub fn take(watch: &Watch) -> Self {
        Snapshot {
            at: Instant::now(),
            server: threads_ticks(&watch.server),
            client: threads_ticks(&watch.client),
            process: stat_ticks("/proc/self/stat"),
            machine: machine_ticks(),
        }
    }
}

/// CPU use between two snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Server worker threads, in percent of one core (1 worker: at most 100).
    pub server_pct: Option<f64>,
    /// Server worker CPU seconds.
    pub server_seconds: Option<f64>,
    /// The load generator, in percent of one core.
    pub client_pct: Option<f64>,
    /// Everything outside this process (other programs, PostgreSQL), in
    /// percent of one core.
    pub outside_pct: Option<f64>,
}

impl Usage {
    pub fn between(before: &Snapshot, after: &Snapshot) -> Self {
        let wall = after.at.duration_since(before.at).as_secs_f64().max(1e-9);
        let seconds =
            |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?) as f64 / TICKS_PER_SECOND);
        let server_seconds = seconds(before.server, after.server);
        let client_seconds = seconds(before.client, after.client);
        let process_seconds = seconds(before.process, after.process);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let machine_pct = match (before.machine, after.machine) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                Some((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0)
            }
            _ => None,
        };
        let outside_pct = machine_pct
            .zip(process_seconds)
            .map(|(machine, process)| (machine * cores - process / wall * 100.0).max(0.0));
        Usage {
            server_pct: server_seconds.map(|s| s / wall * 100.0),
            server_seconds,
            client_pct: client_seconds.map(|s| s / wall * 100.0),
            outside_pct,
        }
    }
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
