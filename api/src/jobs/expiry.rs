//! Housekeeping every `sweep` interval: expires unpaid orders past their
//! date and deletes the login-throttle counters whose window has passed,
//! so the table keeps only the keys tried within one window.
//!
//! A periodic job of the runner: one row in the job table
//! ([`SWEEP_JOB`]), scheduled by the first server to start, claimed under
//! a lease and, once swept, due again a `sweep` later. Servers sharing the
//! database therefore take turns rather than all sweeping every interval;
//! a server that dies mid-sweep leaves the row to the others when its
//! lease ends. The sweep would be safe twice anyway (the expiry update is
//! conditional, `awaiting_payment` only; pruning deletes what is already
//! old): the row saves the work, not correctness.

use crate::jobs::runner::{Backoff, Job, Retry, Runner, Running, Schedule, Wake};
use chrono::{DateTime, Utc};
use persistence::jobs::JobRecord;
use persistence::{Database, StoreResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The sweep's row in the job table: its id and its kind.
pub const SWEEP_JOB: &str = "order_expiry";
/// A sweep is two statements; a lease this long outlives any of them.
const LEASE: Duration = Duration::from_secs(300);
/// A failed sweep is retried sooner than the next interval, backing off,
/// but never later than the next interval.
const RETRY: Backoff = Backoff {
    first: Duration::from_secs(5),
    last: Duration::from_secs(3600),
};

/// Starts the sweep's runner: it claims the sweep every `sweep` (when it
/// is due), and prunes login counters older than `login_window`.
pub fn start(db: Database, sweep: Duration, login_window: Duration) -> Running {
    let login_window =
        chrono::Duration::from_std(login_window).unwrap_or(chrono::Duration::hours(1));
    let job = OrderExpiry {
        db,
        sweep,
        login_window,
        scheduled: AtomicBool::new(false),
    };
    Runner::new(job, schedule(sweep), Wake::new()).start()
}

/// One sweep at a time, polled every `sweep`: after a run the row is due a
/// `sweep` later, and the runner looks again at once (a full batch), then
/// a `sweep` after that, by when it is due.
fn schedule(sweep: Duration) -> Schedule {
    Schedule {
        poll: sweep,
        batch: 1,
        lease: LEASE,
        heartbeat: LEASE / 3,
        backoff: RETRY,
        grace: Duration::from_secs(30),
    }
}

/// Expiring unpaid orders and pruning login counters.
pub struct OrderExpiry {
    db: Database,
    sweep: Duration,
    login_window: chrono::Duration,
    /// Whether this process has made sure the sweep's row exists.
    scheduled: AtomicBool,
}

impl OrderExpiry {
    /// The sweep itself: both halves run even when the first fails.
    async fn sweep(&self) -> Result<(), String> {
        let mut failed = Vec::new();
        match self.db.orders().expire_orders(Utc::now()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "unpaid orders expired"),
            Err(error) => {
                tracing::warn!(%error, "expiring orders failed; will retry");
                failed.push(format!("expiring orders: {error}"));
            }
        }
        match self
            .db
            .login_attempts()
            .prune_login_attempts(Utc::now() - self.login_window)
            .await
        {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "login-throttle counters pruned"),
            Err(error) => {
                tracing::warn!(%error, "pruning login-throttle counters failed; will retry");
                failed.push(format!("pruning login counters: {error}"));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    /// `now + sweep`.
    fn next_sweep(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.sweep)
            .ok()
            .and_then(|sweep| now.checked_add_signed(sweep))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl Job for OrderExpiry {
    type Item = JobRecord;

    const NAME: &'static str = SWEEP_JOB;

    async fn claim(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<JobRecord>> {
        if !self.scheduled.load(Ordering::Relaxed) {
            // Due at once the first time; a row already there is kept.
            self.db
                .jobs()
                .schedule_job(SWEEP_JOB, SWEEP_JOB, now)
                .await?;
            self.scheduled.store(true, Ordering::Relaxed);
        }
        self.db
            .jobs()
            .claim_jobs(SWEEP_JOB, worker, limit, lease, now)
            .await
    }

    async fn run(&self, job: &JobRecord, worker: &str) -> Result<(), String> {
        self.sweep().await?;
        let now = Utc::now();
        match self
            .db
            .jobs()
            .finish_job(&job.id, worker, now, Some(self.next_sweep(now)))
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(worker, "the sweep's lease had passed to another server");
                Ok(())
            }
            Err(error) => Err(format!("scheduling the next sweep: {error}")),
        }
    }

    async fn extend(
        &self,
        job: &JobRecord,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.db
            .jobs()
            .extend_job_lease(&job.id, worker, until)
            .await
    }

    async fn release(&self, job: &JobRecord, worker: &str) -> StoreResult<bool> {
        self.db.jobs().release_job(&job.id, worker).await
    }

    async fn retry(&self, job: &JobRecord, worker: &str, retry: &Retry) -> StoreResult<()> {
        let at = retry.at.min(self.next_sweep(Utc::now()));
        self.db
            .jobs()
            .retry_job(&job.id, worker, &retry.error, at)
            .await
            .map(drop)
    }

    fn attempts(job: &JobRecord) -> i32 {
        job.attempts
    }

    fn label(job: &JobRecord) -> String {
        job.id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    testkit::both_databases!(
        with crate::jobs::runner::tests::migrated;
        the_sweep_runs_at_start_and_is_due_again_a_sweep_later,
    );

    /// The first server schedules the sweep and runs it at once; then it is
    /// not due for a sweep, so another server starting (scheduling it
    /// again) or claiming it finds nothing to do.
    async fn the_sweep_runs_at_start_and_is_due_again_a_sweep_later(db: Database) {
        let hour = Duration::from_secs(3600);
        let started = Utc::now();
        let running = start(db.clone(), hour, hour);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let swept = loop {
            let row = db
                .jobs()
                .find_job(SWEEP_JOB)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            // Scheduled due at once, then a sweep later once swept.
            let rescheduled = started + chrono::Duration::minutes(30);
            if let Some(row) = row.filter(|row| row.due_at > rescheduled) {
                break row;
            }
            assert!(tokio::time::Instant::now() < deadline, "no sweep");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        tokio::time::timeout(Duration::from_secs(5), running.stop())
            .await
            .unwrap_or_else(|_| panic!("the sweep's runner did not stop"));

        let hour_later = started + chrono::Duration::hours(1);
        assert!(swept.due_at >= hour_later, "{swept:?}");
        assert!(
            swept.due_at < hour_later + chrono::Duration::minutes(1),
            "{swept:?}"
        );
        assert_eq!((swept.attempts, swept.done_at), (0, None), "{swept:?}");
        assert!(swept.claimed_by.is_none() && swept.claimed_until.is_none());

        let now = Utc::now();
        let again = db.jobs().schedule_job(SWEEP_JOB, SWEEP_JOB, now).await;
        assert!(!again.unwrap_or_else(|e| panic!("{e}")), "scheduled twice");
        let claimed = db
            .jobs()
            .claim_jobs(SWEEP_JOB, "another-server", 1, LEASE, now)
            .await;
        assert!(claimed.unwrap_or_else(|e| panic!("{e}")).is_empty());
        let kept = db
            .jobs()
            .find_job(SWEEP_JOB)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kept, Some(swept), "the schedule is kept");
    }
}
