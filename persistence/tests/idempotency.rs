//! Idempotency keys against real databases: the first use starts, a repeat
//! replays or is refused, an in-flight key waits, and a key whose request
//! died with its server is taken over. Every scenario runs on a fresh
//! SQLite file and on a fresh PostgreSQL database.

use chrono::{DateTime, Duration, Utc};
use persistence::Database;
use persistence::idempotency::IdempotencyBegin;

mod common;
use common::Must;

both_databases!(
    a_key_starts_once_then_replays_and_refuses_another_body,
    a_key_whose_request_died_is_taken_over_once,
    an_expired_key_starts_again,
);

const SCOPE: &str = "checkout:customer";

/// Requests in flight for longer than this died with their server.
const ABANDONED_AFTER: Duration = Duration::minutes(2);

/// `begin_idempotent` at `now` with a day of validity.
async fn begin_at(db: &Database, now: DateTime<Utc>, key: &str, hash: &str) -> IdempotencyBegin {
    db.idempotency_keys()
        .begin_idempotent(
            SCOPE,
            key,
            hash,
            now,
            now + Duration::days(1),
            now - ABANDONED_AFTER,
        )
        .await
        .must("beginning")
}

async fn begin(db: &Database, key: &str, hash: &str) -> IdempotencyBegin {
    begin_at(db, Utc::now(), key, hash).await
}

async fn a_key_starts_once_then_replays_and_refuses_another_body(db: Database) {
    assert_eq!(begin(&db, "k1", "hash-a").await, IdempotencyBegin::Started);
    assert_eq!(begin(&db, "k1", "hash-a").await, IdempotencyBegin::InFlight);
    assert_eq!(begin(&db, "k1", "hash-b").await, IdempotencyBegin::Mismatch);
    db.idempotency_keys()
        .finish_idempotent(SCOPE, "k1", 201, "{\"id\":1}")
        .await
        .must("finishing");
    assert_eq!(
        begin(&db, "k1", "hash-a").await,
        IdempotencyBegin::Replay {
            status: 201,
            body: "{\"id\":1}".into()
        }
    );
    // Another key is another request.
    assert_eq!(begin(&db, "k2", "hash-a").await, IdempotencyBegin::Started);
}

async fn a_key_whose_request_died_is_taken_over_once(db: Database) {
    let start = Utc::now();
    assert_eq!(
        begin_at(&db, start, "k1", "hash-a").await,
        IdempotencyBegin::Started
    );
    // Within the allowance the request may still answer: repeats wait.
    let soon = start + ABANDONED_AFTER - Duration::seconds(1);
    assert_eq!(
        begin_at(&db, soon, "k1", "hash-a").await,
        IdempotencyBegin::InFlight
    );
    // Past it, the request died with its server; of several repeats at
    // once, exactly one takes the key over.
    let later = start + ABANDONED_AFTER + Duration::seconds(1);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { begin_at(&db, later, "k1", "hash-a").await })
        })
        .collect();
    let mut repeats = Vec::new();
    for task in tasks {
        repeats.push(task.await.must("a repeat"));
    }
    let started = repeats
        .iter()
        .filter(|r| **r == IdempotencyBegin::Started)
        .count();
    assert_eq!(started, 1, "{repeats:?}");
    assert!(
        repeats
            .iter()
            .all(|r| matches!(r, IdempotencyBegin::Started | IdempotencyBegin::InFlight)),
        "{repeats:?}"
    );
    // Another body is still another request.
    assert_eq!(
        begin_at(&db, later, "k1", "hash-b").await,
        IdempotencyBegin::Mismatch
    );
    // A finished request is never taken over: it replays.
    db.idempotency_keys()
        .finish_idempotent(SCOPE, "k1", 201, "{}")
        .await
        .must("finishing");
    let much_later = later + ABANDONED_AFTER * 2;
    assert!(matches!(
        begin_at(&db, much_later, "k1", "hash-a").await,
        IdempotencyBegin::Replay { status: 201, .. }
    ));
}

async fn an_expired_key_starts_again(db: Database) {
    let now = Utc::now();
    let started = db
        .idempotency_keys()
        .begin_idempotent(
            SCOPE,
            "k1",
            "hash-a",
            now,
            now - Duration::seconds(1),
            now - ABANDONED_AFTER,
        )
        .await
        .must("beginning");
    assert_eq!(started, IdempotencyBegin::Started);
    db.idempotency_keys()
        .finish_idempotent(SCOPE, "k1", 201, "{}")
        .await
        .must("finishing");
    // Its replay period is over: even another body starts afresh.
    assert_eq!(begin(&db, "k1", "hash-b").await, IdempotencyBegin::Started);
}
