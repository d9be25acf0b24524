//! The one job runner: a tokio task per job and server process that claims
//! the job's due items under a lease, runs them one at a time, extends the
//! lease of the item in progress (a heartbeat), retries failures after an
//! exponential backoff, and stops when told. A job says only how to claim,
//! run, extend, give back and fail its items ([`Job`]); the loop is here.
//!
//! Loop: claim up to [`Schedule::batch`] items until `now + lease`, run
//! each, then wait for [`Schedule::poll`] or a [`Wake`], whichever comes
//! first. A full batch is followed at once by the next one. When claiming
//! fails (the database is unwell) the wait backs off, up to a minute.
//!
//! Leases: an item is started only while its batch's lease has more than a
//! heartbeat left; from then on its lease is extended to `now + lease`
//! every [`Schedule::heartbeat`], so a long item (a matching run) is not
//! claimed by another server while its runner lives, and is claimed again
//! once the lease runs out when the server died. A heartbeat that finds
//! the claim lost is logged and the item goes on: whatever the job records
//! at the end is conditional on its claim, and tells it so.
//!
//! Stopping: [`Running::stop`] gives back the claimed items not started,
//! lets the item in progress finish for up to [`Schedule::grace`], then
//! leaves it to its lease (no heartbeat extends it any more), and returns
//! when the task has ended.

use chrono::{DateTime, Utc};
use persistence::StoreResult;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use uuid::Uuid;

/// The longest wait between two claims while claiming keeps failing.
const MAX_CLAIM_BACKOFF: Duration = Duration::from_secs(60);

/// Exponential backoff: `first × 2^failures`, at most `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub last: Duration,
}

impl Backoff {
    /// How long to wait after the failure of something that had failed
    /// `previous_failures` times before.
    pub fn retry_delay(&self, previous_failures: i32) -> Duration {
        let exponent = u32::try_from(previous_failures.clamp(0, 20)).unwrap_or(20);
        self.first
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.last)
    }
}

/// How a runner paces its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The wait between two claims that found less than a full batch.
    pub poll: Duration,
    /// Items claimed at once.
    pub batch: u64,
    /// How long a claim holds without a heartbeat: a runner that dies
    /// leaves its items to others once it runs out.
    pub lease: Duration,
    /// How often the lease of the item in progress is extended; shorter
    /// than the lease, with room for a slow database.
    pub heartbeat: Duration,
    /// The wait before a failed item is due again.
    pub backoff: Backoff,
    /// How long stopping waits for the item in progress.
    pub grace: Duration,
}

/// A failed run, as the runner schedules it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// What went wrong, as the job said.
    pub error: String,
    /// Failures so far, this one included.
    pub attempts: i32,
    /// The backoff after this failure.
    pub delay: Duration,
    /// When the item is due again: now + `delay`.
    pub at: DateTime<Utc>,
}

/// A kind of background work, claimed from a table (the SQL is in
/// `persistence`). Every write a job makes about an item is conditional on
/// `worker` still holding its claim, so a runner whose lease passed to
/// another cannot undo the other's work.
pub trait Job: Send + Sync + 'static {
    /// One claimed piece of work, with its lease.
    type Item: Send + Sync + 'static;

    /// The job's name in logs, and the start of its runners' ids.
    const NAME: &'static str;

    /// Claims up to `limit` due items for `worker` until `now + lease`.
    fn claim(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<Self::Item>>> + Send;

    /// Does the item's work and records that it is done. `Err` is a
    /// failed attempt, which the runner retries after the backoff.
    fn run(
        &self,
        item: &Self::Item,
        worker: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Extends `worker`'s claim to `until`; `Ok(false)` if it is lost.
    fn extend(
        &self,
        item: &Self::Item,
        worker: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Gives a claimed item back, due as it was and no attempt counted.
    fn release(
        &self,
        item: &Self::Item,
        worker: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records a failed attempt: one more failure, due again at
    /// `retry.at`, the claim released. The job logs it, in its own terms.
    fn retry(
        &self,
        item: &Self::Item,
        worker: &str,
        retry: &Retry,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The item's failed attempts before this claim.
    fn attempts(item: &Self::Item) -> i32;

    /// The item's id, for logs (never its content).
    fn label(item: &Self::Item) -> String;
}

/// Wakes a runner, e.g. right after a transaction that queued work
/// commits; the runner otherwise finds it at its next poll. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    notify: Arc<Notify>,
}

impl Wake {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a poll now. A wake while the runner is busy is remembered,
    /// so work queued meanwhile is not left for the next poll.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// `now + span`, saturating.
fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Returns once stopping was asked for, or the [`Running`] is gone.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// One job's runner in this process, before it starts.
pub struct Runner<J: Job> {
    job: J,
    schedule: Schedule,
    worker: String,
    wake: Wake,
}

impl<J: Job> std::fmt::Debug for Runner<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("job", &J::NAME)
            .field("worker", &self.worker)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

/// A started runner; stop it with [`Running::stop`]. Dropping it also
/// stops the task, without waiting for it.
#[derive(Debug)]
pub struct Running {
    job: &'static str,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops the runner and waits for it: the claimed items not started are
    /// given back, the one in progress gets [`Schedule::grace`] to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(job = self.job, %error, "the job runner failed");
        }
    }
}

impl<J: Job> Runner<J> {
    /// A runner with a fresh random id, `<job name>-<uuid>`.
    pub fn new(job: J, schedule: Schedule, wake: Wake) -> Self {
        Runner {
            job,
            schedule,
            worker: format!("{}-{}", J::NAME, Uuid::new_v4().simple()),
            wake,
        }
    }

    /// The id its claims are made in.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Spawns the runner on the current tokio runtime.
    pub fn start(self) -> Running {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        Running {
            job: J::NAME,
            stop,
            task,
        }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            job = J::NAME,
            worker = %self.worker,
            poll_ms = u64::try_from(self.schedule.poll.as_millis()).unwrap_or(u64::MAX),
            "job runner started"
        );
        let claim_backoff = Backoff {
            first: self.schedule.poll,
            last: MAX_CLAIM_BACKOFF,
        };
        let mut failures: i32 = 0;
        loop {
            if *stop.borrow() {
                break;
            }
            let wait = match self.run_once(&stop).await {
                Ok(claimed) => {
                    failures = 0;
                    if claimed as u64 >= self.schedule.batch {
                        // More may be due: go on at once.
                        continue;
                    }
                    self.schedule.poll
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(job = J::NAME, worker = %self.worker, %error, "claiming failed");
                    claim_backoff.retry_delay(failures)
                }
            };
            tokio::select! {
                () = self.wake.notify.notified() => {}
                () = tokio::time::sleep(wait) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!(job = J::NAME, worker = %self.worker, "job runner stopped");
    }

    /// One pass: claims a batch and runs it; returns how many items were
    /// claimed. Stops early (giving the rest back) when `stop` is set or
    /// the batch's lease is nearly over.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> StoreResult<usize> {
        let now = Utc::now();
        let items = self
            .job
            .claim(&self.worker, self.schedule.batch, self.schedule.lease, now)
            .await?;
        let claimed = items.len();
        let leased_until = after(now, self.schedule.lease);
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            let lease_left = leased_until > after(Utc::now(), self.schedule.heartbeat);
            if *stop.borrow() || !lease_left {
                for item in std::iter::once(item).chain(items.by_ref()) {
                    self.give_back(&item).await;
                }
                break;
            }
            self.process(&item, stop).await;
        }
        Ok(claimed)
    }

    async fn give_back(&self, item: &J::Item) {
        if let Err(error) = self.job.release(item, &self.worker).await {
            tracing::warn!(
                job = J::NAME,
                item = %J::label(item),
                %error,
                "could not give an item back; it waits for its lease to end"
            );
        }
    }

    async fn process(&self, item: &J::Item, stop: &watch::Receiver<bool>) {
        match self.run_item(item, stop).await {
            Some(Ok(())) => {}
            Some(Err(error)) => self.retry_later(item, error).await,
            None => tracing::warn!(
                job = J::NAME,
                worker = %self.worker,
                item = %J::label(item),
                grace_secs = self.schedule.grace.as_secs(),
                "stopped while an item was in progress: it is left to its lease"
            ),
        }
    }

    /// Runs `item`, beating its lease meanwhile; `None` when stopping ran
    /// out of grace before it finished (the work is dropped).
    async fn run_item(
        &self,
        item: &J::Item,
        stop: &watch::Receiver<bool>,
    ) -> Option<Result<(), String>> {
        let mut stop = stop.clone();
        let work = self.job.run(item, &self.worker);
        tokio::pin!(work);
        let every = self.schedule.heartbeat.max(Duration::from_millis(1));
        let mut beats = tokio::time::interval_at(Instant::now() + every, every);
        beats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut deadline: Option<Instant> = None;
        loop {
            tokio::select! {
                outcome = &mut work => return Some(outcome),
                _ = beats.tick() => self.heartbeat(item).await,
                () = stopping(&mut stop), if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.schedule.grace);
                }
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                    if deadline.is_some() => return None,
            }
        }
    }

    async fn heartbeat(&self, item: &J::Item) {
        let until = after(Utc::now(), self.schedule.lease);
        match self.job.extend(item, &self.worker, until).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                job = J::NAME,
                worker = %self.worker,
                item = %J::label(item),
                "the lease of the item in progress was lost: another runner may run it too"
            ),
            Err(error) => tracing::warn!(
                job = J::NAME,
                item = %J::label(item),
                %error,
                "extending a lease failed; trying again at the next heartbeat"
            ),
        }
    }

    async fn retry_later(&self, item: &J::Item, error: String) {
        let previous = J::attempts(item);
        let delay = self.schedule.backoff.retry_delay(previous);
        let retry = Retry {
            error,
            attempts: previous.saturating_add(1),
            delay,
            at: after(Utc::now(), delay),
        };
        if let Err(error) = self.job.retry(item, &self.worker, &retry).await {
            tracing::error!(
                job = J::NAME,
                item = %J::label(item),
                %error,
                "could not record a failed run; retried when the lease ends"
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use persistence::jobs::JobRecord;
    use persistence::{Database, DatabaseSettings};
    use std::sync::Mutex;
    use testkit::FreshDatabase;

    testkit::both_databases!(
        with crate::jobs::runner::tests::migrated;
        an_item_whose_lease_ran_out_is_claimed_again,
        a_heartbeat_keeps_a_live_item_from_being_claimed_again,
        a_failed_item_is_retried_after_its_backoff,
        stopping_ends_the_runner_within_a_deadline,
        stopping_lets_the_item_in_progress_finish,
    );

    /// The adapter of the job tests: a fresh, migrated database.
    pub(crate) async fn migrated<F, Fut>(database: FreshDatabase, scenario: F)
    where
        F: FnOnce(Database) -> Fut,
        Fut: Future<Output = ()>,
    {
        let db = Database::connect(&DatabaseSettings {
            url: database.url,
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            read_connections: 0,
        })
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
        db.migrate()
            .await
            .unwrap_or_else(|e| panic!("migrating: {e}"));
        scenario(db.clone()).await;
        db.close().await;
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_last_delay() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            last: Duration::from_secs(1),
        };
        assert_eq!(backoff.retry_delay(0), Duration::from_millis(100));
        assert_eq!(backoff.retry_delay(1), Duration::from_millis(200));
        assert_eq!(backoff.retry_delay(3), Duration::from_millis(800));
        assert_eq!(backoff.retry_delay(4), Duration::from_secs(1));
        assert_eq!(backoff.retry_delay(i32::MAX), Duration::from_secs(1));
        assert_eq!(backoff.retry_delay(-5), Duration::from_millis(100));
    }

    // --- a job over the job table that records what happens to it ---

    const KIND: &str = "probe";

    /// What a probe's run does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Act {
        /// Finishes at once.
        Finish,
        /// Fails its first attempt, then finishes.
        FailFirst,
        /// Waits until the test lets it go, then finishes.
        Hold,
    }

    /// What the probes saw, in order, with when.
    #[derive(Debug, Default)]
    struct Seen {
        claims: Vec<(String, Instant)>,
        started: Vec<(String, Instant)>,
        ended: Vec<Instant>,
    }

    struct Probe {
        db: Database,
        act: Act,
        seen: Arc<Mutex<Seen>>,
        let_go: watch::Receiver<bool>,
    }

    impl Probe {
        fn note(&self, change: impl FnOnce(&mut Seen)) {
            if let Ok(mut seen) = self.seen.lock() {
                change(&mut seen);
            }
        }
    }

    impl Job for Probe {
        type Item = JobRecord;

        const NAME: &'static str = KIND;

        async fn claim(
            &self,
            worker: &str,
            limit: u64,
            lease: Duration,
            now: DateTime<Utc>,
        ) -> StoreResult<Vec<JobRecord>> {
            let claimed = self
                .db
                .jobs()
                .claim_jobs(KIND, worker, limit, lease, now)
                .await;
            self.note(|seen| seen.claims.push((worker.to_owned(), Instant::now())));
            claimed
        }

        async fn run(&self, job: &JobRecord, worker: &str) -> Result<(), String> {
            self.note(|seen| seen.started.push((worker.to_owned(), Instant::now())));
            let outcome = match self.act {
                Act::FailFirst if job.attempts == 0 => Err("boom".to_owned()),
                Act::Hold => {
                    let mut let_go = self.let_go.clone();
                    let _ = let_go.wait_for(|go| *go).await;
                    Ok(())
                }
                _ => Ok(()),
            };
            self.note(|seen| seen.ended.push(Instant::now()));
            outcome?;
            match self
                .db
                .jobs()
                .finish_job(&job.id, worker, Utc::now(), None)
                .await
            {
                Ok(true) => Ok(()),
                Ok(false) => Err("claim lost".to_owned()),
                Err(error) => Err(error.to_string()),
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
            self.db
                .jobs()
                .retry_job(&job.id, worker, &retry.error, retry.at)
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

    /// Probes sharing one record and one "let go" switch.
    struct Bench {
        db: Database,
        seen: Arc<Mutex<Seen>>,
        let_go: watch::Sender<bool>,
    }

    const LEASE: Duration = Duration::from_millis(300);

    impl Bench {
        fn new(db: &Database) -> Self {
            Bench {
                db: db.clone(),
                seen: Arc::default(),
                let_go: watch::channel(false).0,
            }
        }

        /// A runner polling every 10 ms, with a 300 ms lease beaten every
        /// 100 ms, a 300 ms first retry and a 200 ms grace.
        fn runner(&self, act: Act) -> Runner<Probe> {
            self.runner_with(act, Duration::from_millis(200))
        }

        fn runner_with(&self, act: Act, grace: Duration) -> Runner<Probe> {
            let schedule = Schedule {
                poll: Duration::from_millis(10),
                batch: 4,
                lease: LEASE,
                heartbeat: Duration::from_millis(100),
                backoff: Backoff {
                    first: Duration::from_millis(300),
                    last: Duration::from_secs(1),
                },
                grace,
            };
            let probe = Probe {
                db: self.db.clone(),
                act,
                seen: self.seen.clone(),
                let_go: self.let_go.subscribe(),
            };
            Runner::new(probe, schedule, Wake::new())
        }

        fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
            let seen = self.seen.lock().unwrap_or_else(|e| panic!("{e}"));
            read(&seen)
        }

        async fn schedule(&self, id: &str) {
            let added = self
                .db
                .jobs()
                .schedule_job(id, KIND, Utc::now())
                .await
                .unwrap_or_else(|e| panic!("scheduling: {e}"));
            assert!(added);
        }

        async fn job(&self, id: &str) -> JobRecord {
            self.db
                .jobs()
                .find_job(id)
                .await
                .unwrap_or_else(|e| panic!("reading: {e}"))
                .unwrap_or_else(|| panic!("no job {id}"))
        }

        /// Waits (at most 10 s) until job `id` is done.
        async fn done(&self, id: &str) -> JobRecord {
            eventually(&format!("job {id} to be done"), async || {
                let job = self.job(id).await;
                job.done_at.is_some().then_some(job)
            })
            .await
        }

        /// Waits (at most 10 s) until `worker` has claimed `times` more
        /// times after `since`.
        async fn claims_by(&self, worker: &str, since: Instant, times: usize) {
            eventually(&format!("{times} claims by {worker}"), async || {
                self.seen(|seen| {
                    let count = seen
                        .claims
                        .iter()
                        .filter(|(by, at)| by == worker && *at > since)
                        .count();
                    (count >= times).then_some(())
                })
            })
            .await;
        }
    }

    fn ids(jobs: &[JobRecord]) -> Vec<&str> {
        jobs.iter().map(|job| job.id.as_str()).collect()
    }

    /// Polls `check` until it returns something, failing after 10 s.
    async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop_within_deadline(running: Running) {
        tokio::time::timeout(Duration::from_secs(5), running.stop())
            .await
            .unwrap_or_else(|_| panic!("the runner did not stop within 5 s"));
    }

    // --- scenarios ---

    /// A runner that died holding an item (its lease ran out) leaves it to
    /// the next claimer; an item under a live lease is left alone.
    async fn an_item_whose_lease_ran_out_is_claimed_again(db: Database) {
        let bench = Bench::new(&db);
        bench.schedule("held-elsewhere").await;
        let alive = db
            .jobs()
            .claim_jobs(
                KIND,
                "live-runner",
                1,
                Duration::from_secs(3600),
                Utc::now(),
            )
            .await
            .unwrap_or_else(|e| panic!("claiming: {e}"));
        assert_eq!(alive.len(), 1);
        bench.schedule("orphan").await;
        let dead = db
            .jobs()
            .claim_jobs(KIND, "dead-runner", 1, Duration::from_millis(1), Utc::now())
            .await
            .unwrap_or_else(|e| panic!("claiming: {e}"));
        assert_eq!(ids(&dead), ["orphan"]);

        let runner = bench.runner(Act::Finish);
        let worker = runner.worker().to_owned();
        let running = runner.start();
        let orphan = bench.done("orphan").await;
        assert_eq!(orphan.claimed_by.as_deref(), Some(worker.as_str()));
        assert_eq!(orphan.attempts, 0, "a lost lease is not a failure");
        bench.claims_by(&worker, Instant::now(), 3).await;
        stop_within_deadline(running).await;

        let held = bench.job("held-elsewhere").await;
        assert_eq!(held.claimed_by.as_deref(), Some("live-runner"));
        assert!(held.done_at.is_none());
        assert_eq!(
            bench.seen(|seen| seen.started.len()),
            1,
            "{:?}",
            bench.seen(|s| s.started.clone())
        );
    }

    /// An item that runs for many leases is not claimed by a second runner
    /// polling all along, because its runner's heartbeat extends the lease.
    async fn a_heartbeat_keeps_a_live_item_from_being_claimed_again(db: Database) {
        let bench = Bench::new(&db);
        let first = bench.runner(Act::Hold);
        let second = bench.runner(Act::Hold);
        let (first_id, second_id) = (first.worker().to_owned(), second.worker().to_owned());
        let first = first.start();
        let second = second.start();
        bench.schedule("long").await;

        let (holder, started) = eventually("the item to start", async || {
            bench.seen(|seen| seen.started.first().cloned())
        })
        .await;
        let other = if holder == first_id {
            &second_id
        } else {
            &first_id
        };
        // Three leases later, the other runner has polled all along (or,
        // were the lease not kept alive, has taken the item too).
        let leases_later = started + LEASE * 3;
        eventually("the other runner to poll for three leases", async || {
            bench.seen(|seen| {
                let polls = seen
                    .claims
                    .iter()
                    .filter(|(by, at)| by == other && *at > leases_later)
                    .count();
                (polls >= 5 || seen.started.len() > 1).then_some(())
            })
        })
        .await;
        let long = bench.job("long").await;
        assert_eq!(long.claimed_by.as_deref(), Some(holder.as_str()));
        assert!(long.claimed_until.is_some_and(|until| until > Utc::now()));
        assert_eq!(bench.seen(|seen| seen.started.len()), 1, "claimed twice");

        let _ = bench.let_go.send(true);
        let long = bench.done("long").await;
        assert_eq!(long.claimed_by.as_deref(), Some(holder.as_str()));
        stop_within_deadline(first).await;
        stop_within_deadline(second).await;
        assert_eq!(bench.seen(|seen| seen.started.len()), 1, "run twice");
    }

    /// A failed attempt is recorded and the item runs again once its
    /// backoff (300 ms here) has passed, not before.
    async fn a_failed_item_is_retried_after_its_backoff(db: Database) {
        let bench = Bench::new(&db);
        let running = bench.runner(Act::FailFirst).start();
        bench.schedule("flaky").await;
        let flaky = bench.done("flaky").await;
        stop_within_deadline(running).await;

        assert_eq!(flaky.attempts, 1);
        assert_eq!(flaky.last_error.as_deref(), Some("boom"));
        let (started, ended) = bench.seen(|seen| (seen.started.clone(), seen.ended.clone()));
        assert_eq!(started.len(), 2, "one failure, one success: {started:?}");
        let waited = started[1].1 - ended[0];
        assert!(
            waited >= Duration::from_millis(290),
            "retried after {waited:?}, before its 300 ms backoff"
        );
    }

    /// An idle runner stops at once; a busy one gives its item its grace,
    /// then leaves it to its lease, and another runner finishes it.
    async fn stopping_ends_the_runner_within_a_deadline(db: Database) {
        let bench = Bench::new(&db);
        let idle = bench.runner(Act::Finish);
        let idle_id = idle.worker().to_owned();
        let before = Instant::now();
        let idle = idle.start();
        bench.claims_by(&idle_id, before, 1).await;
        stop_within_deadline(idle).await;

        let busy = bench.runner(Act::Hold);
        let busy_id = busy.worker().to_owned();
        let busy = busy.start();
        bench.schedule("stuck").await;
        eventually("the item to start", async || {
            bench.seen(|seen| (!seen.started.is_empty()).then_some(()))
        })
        .await;
        stop_within_deadline(busy).await;
        let stuck = bench.job("stuck").await;
        assert!(stuck.done_at.is_none());
        assert_eq!(stuck.attempts, 0);
        assert_eq!(
            stuck.claimed_by.as_deref(),
            Some(busy_id.as_str()),
            "left to its lease"
        );

        let next = bench.runner(Act::Finish);
        let next_id = next.worker().to_owned();
        let next = next.start();
        let stuck = bench.done("stuck").await;
        assert_eq!(stuck.claimed_by.as_deref(), Some(next_id.as_str()));
        stop_within_deadline(next).await;
    }

    /// Stopping while an item runs, with grace enough, waits for it to end.
    async fn stopping_lets_the_item_in_progress_finish(db: Database) {
        let bench = Bench::new(&db);
        let runner = bench.runner_with(Act::Hold, Duration::from_secs(30));
        let worker = runner.worker().to_owned();
        let running = runner.start();
        bench.schedule("slow").await;
        eventually("the item to start", async || {
            bench.seen(|seen| (!seen.started.is_empty()).then_some(()))
        })
        .await;
        let mut stopping = tokio::spawn(running.stop());
        // Stopping waits for the item, which waits for the test.
        let early = tokio::time::timeout(Duration::from_millis(500), &mut stopping).await;
        assert!(early.is_err(), "stopped without waiting for its item");
        let _ = bench.let_go.send(true);
        tokio::time::timeout(Duration::from_secs(5), stopping)
            .await
            .unwrap_or_else(|_| panic!("the runner did not stop within 5 s"))
            .unwrap_or_else(|e| panic!("{e}"));
        let slow = bench.job("slow").await;
        assert!(slow.done_at.is_some(), "finished before stopping: {slow:?}");
        assert_eq!(slow.claimed_by.as_deref(), Some(worker.as_str()));
    }
}
