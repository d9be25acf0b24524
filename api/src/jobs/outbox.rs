//! The outbox worker: a tokio task per server process that delivers the
//! e-mails queued in `outbox_emails` (see `persistence::outbox`).
//!
//! Loop: claim up to [`BATCH`] due e-mails under a [`LEASE`], deliver each
//! (bounded by [`SEND_TIMEOUT`]), mark it sent — or failed, due again after
//! an exponential backoff (5 s × 2^attempts, at most an hour; an e-mail is
//! never dropped) — then wait for the poll interval (`ATTIVA_OUTBOX_POLL_MS`)
//! or for [`OutboxHandle::wake`], whichever comes first. A full batch is
//! followed at once by the next one.
//!
//! Stopping: [`RunningOutbox::stop`] lets the e-mail being sent finish, gives
//! back the rest of the batch, and returns when the task has ended.
//!
//! Logs name the e-mail id, its kind and the recipient's domain: never the
//! subject or the body, which may hold a temporary password.

use crate::mail::{Mailer, Outgoing};
use chrono::{DateTime, Utc};
use persistence::outbox::OutboxEmail;
use persistence::{Database, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// E-mails claimed at once.
pub const BATCH: u64 = 10;
/// The longest one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a claim holds: a whole batch of slow deliveries, and a margin.
/// A worker that dies leaves its batch to others once it runs out.
pub const LEASE: Duration = Duration::from_secs(BATCH * SEND_TIMEOUT.as_secs() + 300);
/// The first retry delay; doubled at every failure.
const FIRST_RETRY: Duration = Duration::from_secs(5);
/// The longest retry delay: after about ten failures, hourly for ever.
const LAST_RETRY: Duration = Duration::from_secs(3600);
/// From this many failures on, each one is logged as an error.
const ALARMING_ATTEMPTS: i32 = 10;

/// Wakes the worker, e.g. right after a transaction that queued e-mails
/// commits; the worker otherwise finds them at its next poll. Cheap to
/// clone; in the app data as `web::Data<OutboxHandle>`.
#[derive(Debug, Clone, Default)]
pub struct OutboxHandle {
    notify: Arc<Notify>,
}

impl OutboxHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a poll now. A wake while the worker is busy is remembered,
    /// so e-mails queued meanwhile are not left for the next poll.
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// How long to wait after the failure of an e-mail that had failed
/// `previous_attempts` times before.
pub fn retry_delay(previous_attempts: i32) -> Duration {
    let exponent = u32::try_from(previous_attempts.clamp(0, 20)).unwrap_or(20);
    FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(LAST_RETRY)
}

/// The part of an address after the `@`, for logs.
fn recipient_domain(recipient: &str) -> &str {
    recipient
        .rsplit_once('@')
        .map_or("(no domain)", |(_, domain)| domain)
}

/// One process's worker, before it starts.
pub struct OutboxWorker {
    db: Database,
    mailer: Arc<Mailer>,
    id: String,
    poll: Duration,
    handle: OutboxHandle,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker")
            .field("id", &self.id)
            .field("mailer", &self.mailer)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// The running worker; stop it with [`RunningOutbox::stop`]. Dropping it
/// also stops the task, without waiting for it.
#[derive(Debug)]
pub struct RunningOutbox {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningOutbox {
    /// Stops the worker and waits for it: the delivery in progress ends
    /// first, the rest of its batch is given back.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the outbox worker failed");
        }
    }
}

impl OutboxWorker {
    /// A worker with a fresh random id (one per process).
    pub fn new(db: Database, mailer: Mailer, poll: Duration, handle: OutboxHandle) -> Self {
        OutboxWorker {
            db,
            mailer: Arc::new(mailer),
            id: format!("outbox-{}", Uuid::new_v4().simple()),
            poll,
            handle,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Spawns the worker on the current tokio runtime.
    pub fn start(self) -> RunningOutbox {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        RunningOutbox { stop, task }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            worker = %self.id,
            transport = %self.mailer.describe(),
            poll_ms = u64::try_from(self.poll.as_millis()).unwrap_or(u64::MAX),
            "outbox worker started"
        );
        let mut failures: u32 = 0;
        loop {
            if *stop.borrow() {
                break;
            }
            let wait = match self.run_once(&stop).await {
                Ok(claimed) => {
                    failures = 0;
                    if claimed as u64 >= BATCH {
                        // More may be due: go on at once.
                        continue;
                    }
                    self.poll
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(worker = %self.id, %error, "outbox poll failed");
                    // The database is unwell: back off, up to a minute.
                    self.poll
                        .saturating_mul(2u32.saturating_pow(failures.min(10)))
                        .min(Duration::from_secs(60))
                }
            };
            tokio::select! {
                () = self.handle.notify.notified() => {}
                () = tokio::time::sleep(wait) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!(worker = %self.id, "outbox worker stopped");
    }

    /// One pass: claims a batch and delivers it; returns how many e-mails
    /// were claimed. Stops early (giving the rest back) when `stop` is set.
    pub async fn run_once(&self, stop: &watch::Receiver<bool>) -> StoreResult<usize> {
        let now = Utc::now();
        let emails = self.db.claim_emails(&self.id, BATCH, LEASE, now).await?;
        let claimed = emails.len();
        let mut emails = emails.into_iter();
        while let Some(email) = emails.next() {
            let lease_left = email
                .claimed_until
                .is_some_and(|until| until > Utc::now() + SEND_TIMEOUT);
            if *stop.borrow() || !lease_left {
                for email in std::iter::once(email).chain(emails.by_ref()) {
                    if let Err(error) = self.db.release_email(email.id, &self.id).await {
                        tracing::warn!(email_id = %email.id, %error, "could not give an e-mail back; it waits for its lease to end");
                    }
                }
                break;
            }
            self.deliver(&email).await;
        }
        Ok(claimed)
    }

    async fn deliver(&self, email: &OutboxEmail) {
        let outgoing = Outgoing {
            id: email.id,
            recipient: &email.recipient,
            subject: &email.subject,
            body_text: &email.body_text,
        };
        let at = Utc::now();
        let sent = match tokio::time::timeout(SEND_TIMEOUT, self.mailer.send(&outgoing, at)).await {
            Ok(result) => result.map_err(|error| error.to_string()),
            Err(_) => Err(format!(
                "delivery timed out after {} s",
                SEND_TIMEOUT.as_secs()
            )),
        };
        let domain = recipient_domain(&email.recipient);
        match sent {
            Ok(()) => match self.mark_sent(email.id, at).await {
                Ok(true) => tracing::info!(
                    email_id = %email.id,
                    kind = %email.kind,
                    recipient_domain = %domain,
                    order_id = ?email.order_id,
                    attempts = email.attempts,
                    "email sent"
                ),
                Ok(false) => tracing::warn!(
                    email_id = %email.id,
                    kind = %email.kind,
                    recipient_domain = %domain,
                    "email sent, but its lease had passed to another worker: it may be delivered twice"
                ),
                Err(error) => tracing::error!(
                    email_id = %email.id,
                    kind = %email.kind,
                    recipient_domain = %domain,
                    %error,
                    "email sent but not marked sent: it will be sent again when its lease ends"
                ),
            },
            Err(error) => {
                let attempts = email.attempts.saturating_add(1);
                let delay = retry_delay(email.attempts);
                let next = Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                if let Err(store_error) = self
                    .db
                    .mark_email_failed(email.id, &self.id, &error, next)
                    .await
                {
                    tracing::error!(
                        email_id = %email.id,
                        error = %store_error,
                        "could not record a failed delivery; retried when the lease ends"
                    );
                }
                if attempts >= ALARMING_ATTEMPTS {
                    tracing::error!(
                        email_id = %email.id,
                        kind = %email.kind,
                        recipient_domain = %domain,
                        attempts,
                        retry_in_secs = delay.as_secs(),
                        %error,
                        "email delivery keeps failing"
                    );
                } else {
                    tracing::warn!(
                        email_id = %email.id,
                        kind = %email.kind,
                        recipient_domain = %domain,
                        attempts,
                        retry_in_secs = delay.as_secs(),
                        %error,
                        "email delivery failed"
                    );
                }
            }
        }
    }

    /// Marks sent, retrying briefly: an e-mail delivered but not marked
    /// would be delivered again.
    async fn mark_sent(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let mut tries = 0u32;
        loop {
            match self.db.mark_email_sent(id, &self.id, at).await {
                Err(error) if tries < 3 => {
                    tries += 1;
                    tracing::warn!(email_id = %id, %error, "marking an e-mail sent failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::MailSettings;
    use persistence::DatabaseSettings;
    use persistence::outbox::NewEmail;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(retry_delay(0), Duration::from_secs(5));
        assert_eq!(retry_delay(1), Duration::from_secs(10));
        assert_eq!(retry_delay(9), Duration::from_secs(2560));
        assert_eq!(retry_delay(10), Duration::from_secs(3600));
        assert_eq!(retry_delay(i32::MAX), Duration::from_secs(3600));
        assert_eq!(retry_delay(-1), Duration::from_secs(5));
        assert!(LEASE > SEND_TIMEOUT.saturating_mul(u32::try_from(BATCH).unwrap_or(10)));
    }

    #[test]
    fn logs_name_the_domain_only() {
        assert_eq!(recipient_domain("mario.rossi@example.it"), "example.it");
        assert_eq!(recipient_domain("nobody"), "(no domain)");
    }

    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn settings(dir: &std::path::Path, smtp_url: Option<&str>) -> MailSettings {
        MailSettings {
            smtp_url: smtp_url.map(|url| secrecy::SecretString::from(url.to_owned())),
            dir: dir.to_owned(),
            from: "Attiva <noreply@attiva.local>"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            outbox_poll: Duration::from_millis(500),
        }
    }

    async fn scratch_database(scratch: &Scratch) -> Database {
        let db = Database::connect(&DatabaseSettings {
            url: format!("sqlite://{}/outbox.db?mode=rwc", scratch.0.display()),
            max_connections: 2,
            busy_timeout: Duration::from_secs(5),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        db
    }

    fn scratch() -> Scratch {
        let scratch =
            Scratch(std::env::temp_dir().join(format!("attiva-outbox-{}", Uuid::new_v4())));
        std::fs::create_dir_all(&scratch.0).unwrap_or_else(|e| panic!("{e}"));
        scratch
    }

    /// With an hour between polls, an e-mail queued after the first poll
    /// goes out when the worker is woken; stopping ends the task.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wake_sends_without_waiting_for_the_poll() {
        let scratch = scratch();
        let db = scratch_database(&scratch).await;
        let mail_dir = scratch.0.join("mail");
        let mailer =
            Mailer::from_settings(&settings(&mail_dir, None)).unwrap_or_else(|e| panic!("{e}"));
        let handle = OutboxHandle::new();
        let running = OutboxWorker::new(
            db.clone(),
            mailer,
            Duration::from_secs(3600),
            handle.clone(),
        )
        .start();

        let email = NewEmail {
            id: Uuid::new_v4(),
            kind: "payment_confirmation".into(),
            recipient: "mario@example.it".into(),
            subject: "Conferma".into(),
            body_text: "Grazie.".into(),
            order_id: None,
        };
        db.enqueue_email_now(&email)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        handle.wake();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = db
                .find_email(email.id)
                .await
                .ok()
                .flatten()
                .is_some_and(|e| e.sent_at.is_some());
            if sent {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not sent after a wake"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::timeout(Duration::from_secs(10), running.stop())
            .await
            .unwrap_or_else(|_| panic!("the worker did not stop"));
        db.close().await;
    }
}
