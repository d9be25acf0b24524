//! The e-mail outbox against real databases: queuing inside a transaction,
//! claims and leases, conditional marks, and concurrent claimers taking
//! disjoint e-mails. Every scenario runs on a fresh SQLite file and on a
//! fresh PostgreSQL database.
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`); when it cannot be reached the
//! PostgreSQL half is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure.

use chrono::{DateTime, Duration, Utc};
use persistence::outbox::{NewEmail, REDACTED_BODY, enqueue_email};
use persistence::{Database, StoreError};
use sea_orm::TransactionTrait;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration as StdDuration;
use uuid::Uuid;

// --- harness ---

mod common;
use common::Must;

/// What a scenario gets: the repository and the database URL (for a raw
/// connection of its own, to run a transaction the way callers do).
#[derive(Clone)]
struct Scenario {
    db: Database,
    url: String,
}

impl common::FromTestDatabase for Scenario {
    fn from_test_database(db: Database, url: String) -> Self {
        Scenario { db, url }
    }
}

both_databases!(
    an_email_is_queued_only_if_the_transaction_commits,
    a_claim_leases_disjoint_emails_oldest_first,
    only_the_claimer_marks_sent_and_the_body_is_redacted,
    an_expired_lease_can_be_claimed_again,
    a_failure_counts_an_attempt_and_defers_the_email,
    a_released_email_is_claimable_at_once,
    concurrent_claimers_share_the_emails_exactly_once,
);

// --- fixtures ---

const LEASE: StdDuration = StdDuration::from_secs(60);

fn email(recipient: &str) -> NewEmail {
    NewEmail {
        id: Uuid::new_v4(),
        kind: "activation".into(),
        recipient: recipient.into(),
        subject: "Attivazione Fatturazione Elettronica – credenziali di accesso".into(),
        body_text: "Password temporanea: Segreto-42!\nÈ così.".into(),
        order_id: Some(Uuid::new_v4()),
    }
}

/// Queues `count` e-mails to one fresh recipient; returns it and the ids.
async fn queue(db: &Database, count: usize) -> (String, Vec<Uuid>) {
    let recipient = format!("{}@example.it", Uuid::new_v4().simple());
    let mut ids = Vec::new();
    for _ in 0..count {
        let new = email(&recipient);
        db.outbox().enqueue_email_now(&new).await.must("queuing");
        ids.push(new.id);
    }
    (recipient, ids)
}

/// A moment after everything queued so far is due.
fn later() -> DateTime<Utc> {
    Utc::now() + Duration::seconds(1)
}

fn ids_of(emails: &[persistence::outbox::OutboxEmail]) -> Vec<Uuid> {
    emails.iter().map(|e| e.id).collect()
}

// --- scenarios ---

async fn an_email_is_queued_only_if_the_transaction_commits(s: Scenario) {
    let conn = sea_orm::Database::connect(&s.url).await.must("connecting");
    let kept = email("kept@example.it");
    let dropped = email("dropped@example.it");

    let tx = conn.begin().await.must("begin");
    enqueue_email(&tx, &dropped).await.must("queuing");
    tx.rollback().await.must("rollback");
    let tx = conn.begin().await.must("begin");
    enqueue_email(&tx, &kept).await.must("queuing");
    tx.commit().await.must("commit");
    let _ = conn.close().await;

    assert!(
        s.db.outbox()
            .find_email(dropped.id)
            .await
            .must("finding")
            .is_none()
    );
    let stored =
        s.db.outbox()
            .find_email(kept.id)
            .await
            .must("finding")
            .must("kept");
    assert_eq!(stored.kind, "activation");
    assert_eq!(stored.recipient, kept.recipient);
    assert_eq!(stored.subject, kept.subject);
    assert_eq!(stored.body_text, kept.body_text, "UTF-8 survives storage");
    assert_eq!(stored.order_id, kept.order_id);
    assert_eq!(stored.attempts, 0);
    assert!(stored.sent_at.is_none() && stored.claimed_by.is_none());
    assert_eq!(s.db.outbox().outbox_pending().await.must("counting"), 1);

    let again = s.db.outbox().enqueue_email_now(&kept).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "a duplicate id is a conflict: {again:?}"
    );
    assert!(
        !format!("{kept:?} {stored:?}").contains("Segreto-42"),
        "Debug shows no body"
    );
}

async fn a_claim_leases_disjoint_emails_oldest_first(s: Scenario) {
    let (_, ids) = queue(&s.db, 3).await;
    let now = later();
    let first =
        s.db.outbox()
            .claim_emails("worker-a", 2, LEASE, now)
            .await
            .must("claiming");
    assert_eq!(ids_of(&first), ids[..2], "oldest first, at most the limit");
    for claimed in &first {
        assert_eq!(claimed.claimed_by.as_deref(), Some("worker-a"));
        let until = claimed.claimed_until.must("a lease");
        assert!(
            (until - (now + Duration::seconds(60)))
                .num_milliseconds()
                .abs()
                < 5
        );
        let stored =
            s.db.outbox()
                .find_email(claimed.id)
                .await
                .must("finding")
                .must("it");
        assert_eq!(stored.claimed_by.as_deref(), Some("worker-a"));
    }
    let second =
        s.db.outbox()
            .claim_emails("worker-b", 10, LEASE, now)
            .await
            .must("claiming");
    assert_eq!(ids_of(&second), ids[2..]);
    let none =
        s.db.outbox()
            .claim_emails("worker-c", 10, LEASE, now)
            .await
            .must("claiming");
    assert!(none.is_empty(), "everything is leased: {none:?}");
    assert_eq!(s.db.outbox().outbox_pending().await.must("counting"), 3);

    // Not due yet: queued after `now - 1 h`.
    let (_, _) = queue(&s.db, 1).await;
    let early =
        s.db.outbox()
            .claim_emails("worker-c", 10, LEASE, Utc::now() - Duration::hours(1))
            .await
            .must("claiming");
    assert!(early.is_empty(), "not due yet: {early:?}");
}

async fn only_the_claimer_marks_sent_and_the_body_is_redacted(s: Scenario) {
    let (recipient, ids) = queue(&s.db, 1).await;
    let now = later();
    let claimed =
        s.db.outbox()
            .claim_emails("worker-a", 5, LEASE, now)
            .await
            .must("claiming");
    assert_eq!(ids_of(&claimed), ids);
    assert!(
        claimed[0].body_text.contains("Segreto-42"),
        "the worker gets the body"
    );

    assert!(
        !s.db
            .outbox()
            .mark_email_sent(ids[0], "worker-b", now)
            .await
            .must("marking")
    );
    assert!(
        s.db.outbox()
            .mark_email_sent(ids[0], "worker-a", now)
            .await
            .must("marking")
    );
    assert!(
        !s.db
            .outbox()
            .mark_email_sent(ids[0], "worker-a", now)
            .await
            .must("marking"),
        "already sent"
    );

    let stored =
        s.db.outbox()
            .find_email(ids[0])
            .await
            .must("finding")
            .must("it");
    assert_eq!(stored.body_text, REDACTED_BODY);
    assert!(stored.sent_at.is_some());
    assert!(stored.claimed_until.is_none());
    assert_eq!(
        stored.claimed_by.as_deref(),
        Some("worker-a"),
        "who sent it"
    );
    assert_eq!(s.db.outbox().outbox_pending().await.must("counting"), 0);
    let listed = s.db.outbox().emails_for(&recipient).await.must("listing");
    assert_eq!(ids_of(&listed), ids);

    let much_later = now + Duration::days(1);
    let again =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, much_later)
            .await
            .must("claiming");
    assert!(
        again.is_empty(),
        "a sent e-mail is never claimed: {again:?}"
    );
}

async fn an_expired_lease_can_be_claimed_again(s: Scenario) {
    let (_, ids) = queue(&s.db, 1).await;
    let now = later();
    let first =
        s.db.outbox()
            .claim_emails("worker-a", 5, LEASE, now)
            .await
            .must("claiming");
    assert_eq!(ids_of(&first), ids);

    let during =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, now + Duration::seconds(59))
            .await
            .must("claiming");
    assert!(during.is_empty(), "the lease holds: {during:?}");

    // worker-a died; its lease runs out.
    let after = now + Duration::seconds(61);
    let second =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, after)
            .await
            .must("claiming");
    assert_eq!(ids_of(&second), ids);
    assert_eq!(second[0].attempts, 0, "an expired lease is not a failure");

    assert!(
        !s.db
            .outbox()
            .mark_email_sent(ids[0], "worker-a", after)
            .await
            .must("marking"),
        "the old claimer lost it"
    );
    s.db.outbox()
        .mark_email_failed(ids[0], "worker-a", "late", after)
        .await
        .must("marking");
    let stored =
        s.db.outbox()
            .find_email(ids[0])
            .await
            .must("finding")
            .must("it");
    assert_eq!(
        stored.attempts, 0,
        "the old claimer cannot record a failure"
    );
    assert_eq!(stored.claimed_by.as_deref(), Some("worker-b"));
    assert!(
        s.db.outbox()
            .mark_email_sent(ids[0], "worker-b", after)
            .await
            .must("marking")
    );
}

async fn a_failure_counts_an_attempt_and_defers_the_email(s: Scenario) {
    let (_, ids) = queue(&s.db, 1).await;
    let now = later();
    s.db.outbox()
        .claim_emails("worker-a", 5, LEASE, now)
        .await
        .must("claiming");
    let retry_at = now + Duration::seconds(10);
    let long_error = "connection refused ".repeat(500);
    s.db.outbox()
        .mark_email_failed(ids[0], "worker-a", &long_error, retry_at)
        .await
        .must("marking");

    let stored =
        s.db.outbox()
            .find_email(ids[0])
            .await
            .must("finding")
            .must("it");
    assert_eq!(stored.attempts, 1);
    let error = stored.last_error.must("an error");
    assert!(error.starts_with("connection refused") && error.chars().count() <= 2000);
    assert!(stored.claimed_by.is_none() && stored.claimed_until.is_none());
    assert!(stored.sent_at.is_none());
    assert!(
        stored.body_text.contains("Segreto-42"),
        "kept for the retry"
    );
    assert_eq!(s.db.outbox().outbox_pending().await.must("counting"), 1);

    let early =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, retry_at - Duration::seconds(1))
            .await
            .must("claiming");
    assert!(early.is_empty(), "deferred: {early:?}");
    let retried =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, retry_at)
            .await
            .must("claiming");
    assert_eq!(ids_of(&retried), ids);
    assert_eq!(retried[0].attempts, 1);
    s.db.outbox()
        .mark_email_failed(ids[0], "worker-b", "again", retry_at)
        .await
        .must("marking");
    let stored =
        s.db.outbox()
            .find_email(ids[0])
            .await
            .must("finding")
            .must("it");
    assert_eq!(stored.attempts, 2);
    assert_eq!(stored.last_error.as_deref(), Some("again"));
}

async fn a_released_email_is_claimable_at_once(s: Scenario) {
    let (_, ids) = queue(&s.db, 1).await;
    let now = later();
    s.db.outbox()
        .claim_emails("worker-a", 5, LEASE, now)
        .await
        .must("claiming");
    assert!(
        !s.db
            .outbox()
            .release_email(ids[0], "worker-b")
            .await
            .must("releasing")
    );
    assert!(
        s.db.outbox()
            .release_email(ids[0], "worker-a")
            .await
            .must("releasing")
    );
    let stored =
        s.db.outbox()
            .find_email(ids[0])
            .await
            .must("finding")
            .must("it");
    assert_eq!(stored.attempts, 0);
    let again =
        s.db.outbox()
            .claim_emails("worker-b", 5, LEASE, now)
            .await
            .must("claiming");
    assert_eq!(ids_of(&again), ids);
}

async fn concurrent_claimers_share_the_emails_exactly_once(s: Scenario) {
    const EMAILS: usize = 60;
    const CLAIMERS: usize = 6;
    let (_, ids) = queue(&s.db, EMAILS).await;
    let now = later();
    let mut tasks = Vec::new();
    for n in 0..CLAIMERS {
        let db = s.db.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{n}");
            let mut mine = Vec::new();
            loop {
                let batch = db
                    .outbox()
                    .claim_emails(&worker, 4, LEASE, now)
                    .await
                    .must("claiming");
                if batch.is_empty() {
                    break;
                }
                for email in batch {
                    assert!(
                        db.outbox()
                            .mark_email_sent(email.id, &worker, now)
                            .await
                            .must("marking"),
                        "{worker} holds {}",
                        email.id
                    );
                    mine.push(email.id);
                }
                tokio::task::yield_now().await;
            }
            (worker, mine)
        }));
    }
    let mut seen: HashMap<Uuid, String> = HashMap::new();
    for task in tasks {
        let (worker, mine) = task.await.must("a claimer");
        for id in mine {
            if let Some(other) = seen.insert(id, worker.clone()) {
                panic!("{id} was claimed by {other} and by {worker}");
            }
        }
    }
    let claimed: BTreeSet<Uuid> = seen.keys().copied().collect();
    let expected: BTreeSet<Uuid> = ids.into_iter().collect();
    assert_eq!(claimed, expected, "every e-mail claimed exactly once");
    assert_eq!(s.db.outbox().outbox_pending().await.must("counting"), 0);
}
