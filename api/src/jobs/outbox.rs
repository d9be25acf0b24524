//! The outbox job: delivers the e-mails queued in `outbox_emails` (see
//! `persistence::outbox`), one [`Runner`] per server process.
//!
//! The runner claims up to [`BATCH`] due e-mails under a [`LEASE`] and
//! delivers each (bounded by [`SEND_TIMEOUT`]); a delivered e-mail is marked
//! sent (its body redacted), a failed one is due again after [`RETRY`]'s
//! backoff (5 s × 2^attempts, at most an hour; an e-mail is never
//! dropped). It polls every `ATTIVA_OUTBOX_POLL_MS`, or at once when
//! fulfilment wakes it ([`OutboxHandle::wake`]) after its commit.
//!
//! Stopping lets the e-mail being sent finish and gives back the rest of
//! the batch.
//!
//! Logs name the e-mail id, its kind and the recipient's domain: never the
//! subject or the body, which may hold a temporary password.

use crate::jobs::runner::{Backoff, Job, Retry, Runner, Schedule, Wake};
use crate::mail::{Mailer, Outgoing};
use chrono::{DateTime, Utc};
use persistence::outbox::OutboxEmail;
use persistence::{Database, StoreResult};
use std::time::Duration;
use uuid::Uuid;

/// E-mails claimed at once.
pub const BATCH: u64 = 10;
/// The longest one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a claim holds: a whole batch of slow deliveries, and a margin.
/// A worker that dies leaves its batch to others once it runs out.
pub const LEASE: Duration = Duration::from_secs(BATCH * SEND_TIMEOUT.as_secs() + 300);
/// The wait after a failed delivery: 5 s, doubled at every failure, at
/// most an hour (after about ten failures, hourly for ever).
pub const RETRY: Backoff = Backoff {
    first: Duration::from_secs(5),
    last: Duration::from_secs(3600),
};
/// From this many failures on, each one is logged as an error.
const ALARMING_ATTEMPTS: i32 = 10;

/// Wakes the outbox's runner, e.g. right after a transaction that queued
/// e-mails commits; in the app data as `web::Data<OutboxHandle>`.
pub type OutboxHandle = Wake;

/// The outbox's runner in this process, polling every `poll`; its worker
/// id starts with `outbox-`.
pub fn worker(db: Database, mailer: Mailer, poll: Duration, wake: OutboxHandle) -> Runner<Outbox> {
    tracing::info!(transport = %mailer.describe(), "outbox delivers by this transport");
    let schedule = Schedule {
        poll,
        batch: BATCH,
        lease: LEASE,
        // An e-mail is started only with a whole delivery's time left on
        // its lease; no delivery outlasts one beat.
        heartbeat: SEND_TIMEOUT,
        backoff: RETRY,
        // A delivery ends by its timeout; then it is marked sent.
        grace: SEND_TIMEOUT + Duration::from_secs(10),
    };
    Runner::new(Outbox { db, mailer }, schedule, wake)
}

/// The part of an address after the `@`, for logs.
fn recipient_domain(recipient: &str) -> &str {
    recipient
        .rsplit_once('@')
        .map_or("(no domain)", |(_, domain)| domain)
}

/// Delivering the outbox: what the runner needs to claim, send and mark
/// e-mails.
pub struct Outbox {
    db: Database,
    mailer: Mailer,
}

impl Job for Outbox {
    type Item = OutboxEmail;

    const NAME: &'static str = "outbox";

    async fn claim(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OutboxEmail>> {
        self.db
            .outbox()
            .claim_emails(worker, limit, lease, now)
            .await
    }

    async fn run(&self, email: &OutboxEmail, worker: &str) -> Result<(), String> {
        let outgoing = Outgoing {
            id: email.id,
            recipient: &email.recipient,
            subject: &email.subject,
            body_text: &email.body_text,
        };
        let at = Utc::now();
        match tokio::time::timeout(SEND_TIMEOUT, self.mailer.send(&outgoing, at)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => {
                return Err(format!(
                    "delivery timed out after {} s",
                    SEND_TIMEOUT.as_secs()
                ));
            }
        }
        let domain = recipient_domain(&email.recipient);
        match self.mark_sent(email.id, worker, at).await {
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
        }
        Ok(())
    }

    async fn extend(
        &self,
        email: &OutboxEmail,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.db
            .outbox()
            .extend_email_lease(email.id, worker, until)
            .await
    }

    async fn release(&self, email: &OutboxEmail, worker: &str) -> StoreResult<bool> {
        self.db.outbox().release_email(email.id, worker).await
    }

    async fn retry(&self, email: &OutboxEmail, worker: &str, retry: &Retry) -> StoreResult<()> {
        let domain = recipient_domain(&email.recipient);
        if retry.attempts >= ALARMING_ATTEMPTS {
            tracing::error!(
                email_id = %email.id,
                kind = %email.kind,
                recipient_domain = %domain,
                attempts = retry.attempts,
                retry_in_secs = retry.delay.as_secs(),
                error = %retry.error,
                "email delivery keeps failing"
            );
        } else {
            tracing::warn!(
                email_id = %email.id,
                kind = %email.kind,
                recipient_domain = %domain,
                attempts = retry.attempts,
                retry_in_secs = retry.delay.as_secs(),
                error = %retry.error,
                "email delivery failed"
            );
        }
        self.db
            .outbox()
            .mark_email_failed(email.id, worker, &retry.error, retry.at)
            .await
    }

    fn attempts(email: &OutboxEmail) -> i32 {
        email.attempts
    }

    fn label(email: &OutboxEmail) -> String {
        email.id.to_string()
    }
}

impl Outbox {
    /// Marks sent, retrying briefly: an e-mail delivered but not marked
    /// would be delivered again.
    async fn mark_sent(&self, id: Uuid, worker: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let mut tries = 0u32;
        loop {
            match self.db.outbox().mark_email_sent(id, worker, at).await {
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
    use crate::config::settings::MailSettings;
    use persistence::DatabaseSettings;
    use persistence::outbox::NewEmail;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(RETRY.retry_delay(0), Duration::from_secs(5));
        assert_eq!(RETRY.retry_delay(1), Duration::from_secs(10));
        assert_eq!(RETRY.retry_delay(9), Duration::from_secs(2560));
        assert_eq!(RETRY.retry_delay(10), Duration::from_secs(3600));
        assert_eq!(RETRY.retry_delay(i32::MAX), Duration::from_secs(3600));
        assert_eq!(RETRY.retry_delay(-1), Duration::from_secs(5));
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
            read_connections: 0,
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
        let running = worker(
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
        db.outbox()
            .enqueue_email_now(&email)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        handle.wake();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = db
                .outbox()
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
