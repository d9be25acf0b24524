//! The e-mail outbox (transactional outbox): mail is queued with
//! [`enqueue_email`] inside the transaction that decides to send it, so it is
//! stored if and only if that transaction commits; a background worker then
//! claims due e-mails under a lease, delivers them and marks them sent.
//!
//! Claiming is safe with several server processes on one database (the
//! lease statement of `crate::lease`, shared with the job table: `FOR
//! UPDATE SKIP LOCKED` on PostgreSQL, alone under the write lock on
//! SQLite). A lease that expires (the worker died) makes the e-mail
//! claimable again. Delivery is therefore at least once: a worker that
//! dies after sending but before marking the e-mail sent leaves it to be
//! sent again.
//!
//! Once sent, the body is replaced by [`REDACTED_BODY`]: it may hold a
//! temporary password, which must not linger in the database.

use crate::entity::outbox_email;
use crate::lease::Leased;
use crate::service::parse_id;
use crate::{Database, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QueryTrait, Set,
};
use std::fmt;
use std::time::Duration;
use uuid::Uuid;

/// What the body of a delivered e-mail becomes.
pub const REDACTED_BODY: &str = "[delivered; body removed]";

/// The longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// An e-mail to queue. The body may hold a secret: Debug leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEmail {
    pub id: Uuid,
    /// What it is, e.g. `activation`, `payment_confirmation`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    /// The order it is about, for tracing.
    pub order_id: Option<Uuid>,
}

impl fmt::Debug for NewEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEmail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("order_id", &self.order_id)
            .finish_non_exhaustive()
    }
}

/// An e-mail as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    /// [`REDACTED_BODY`] once sent.
    pub body_text: String,
    pub created_at: DateTime<Utc>,
    /// Failed deliveries so far.
    pub attempts: i32,
    /// Not claimed before this.
    pub next_attempt_at: DateTime<Utc>,
    /// The lease of the worker that claimed it; claimable again after it.
    pub claimed_until: Option<DateTime<Utc>>,
    /// The worker that claimed it last (kept once sent: who sent it).
    pub claimed_by: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub order_id: Option<Uuid>,
}

impl fmt::Debug for OutboxEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxEmail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("created_at", &self.created_at)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("claimed_until", &self.claimed_until)
            .field("claimed_by", &self.claimed_by)
            .field("sent_at", &self.sent_at)
            .field("last_error", &self.last_error)
            .field("order_id", &self.order_id)
            .finish_non_exhaustive()
    }
}

fn to_email(row: outbox_email::Model) -> StoreResult<OutboxEmail> {
    Ok(OutboxEmail {
        id: parse_id(&row.id)?,
        kind: row.kind,
        recipient: row.recipient,
        subject: row.subject,
        body_text: row.body_text,
        created_at: row.created_at,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        claimed_until: row.claimed_until,
        claimed_by: row.claimed_by,
        sent_at: row.sent_at,
        last_error: row.last_error,
        order_id: row.order_id.as_deref().map(parse_id).transpose()?,
    })
}

/// Queues `email`, due at once, on `conn`: pass the caller's transaction
/// (`&DatabaseTransaction`) so that the e-mail exists only if it commits.
/// A duplicate id is [`crate::StoreError::Conflict`].
pub async fn enqueue_email<C: ConnectionTrait>(conn: &C, email: &NewEmail) -> StoreResult<()> {
    conn.execute(&email_insert(email)).await?;
    Ok(())
}

/// The insert that queues `email`, due at once.
pub(crate) fn email_insert(email: &NewEmail) -> InsertStatement {
    let now = Utc::now();
    let row = outbox_email::ActiveModel {
        id: Set(email.id.to_string()),
        kind: Set(email.kind.clone()),
        recipient: Set(email.recipient.clone()),
        subject: Set(email.subject.clone()),
        body_text: Set(email.body_text.clone()),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        claimed_by: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        order_id: Set(email.order_id.map(|id| id.to_string())),
    };
    outbox_email::Entity::insert(row).into_query()
}

/// The outbox's lease columns: due at `next_attempt_at`, done once sent.
const LEASED: Leased<outbox_email::Entity> = Leased {
    id: outbox_email::Column::Id,
    due_at: outbox_email::Column::NextAttemptAt,
    claimed_by: outbox_email::Column::ClaimedBy,
    claimed_until: outbox_email::Column::ClaimedUntil,
    done_at: outbox_email::Column::SentAt,
};

/// The outbox of the store: `db.outbox()`.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    db: &'a Database,
}

impl Database {
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { db: self }
    }
}

impl Outbox<'_> {
    /// [`enqueue_email`] in a write transaction of its own (tests, tools).
    pub async fn enqueue_email_now(&self, email: &NewEmail) -> StoreResult<()> {
        let tx = self.db.begin_write().await?;
        enqueue_email(&tx, email).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` due e-mails for `worker` until `now + lease`,
    /// oldest due first, and returns them as claimed. Each e-mail goes to
    /// one claimer: concurrent claimers (other processes included) get
    /// disjoint sets. An e-mail whose lease has expired is claimable again.
    pub async fn claim_emails(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OutboxEmail>> {
        let rows = LEASED
            .claim(self.db, Condition::all(), worker, limit, lease, now)
            .await?;
        let mut emails = rows
            .into_iter()
            .map(to_email)
            .collect::<StoreResult<Vec<_>>>()?;
        emails.sort_by_key(|e| (e.next_attempt_at, e.id));
        Ok(emails)
    }

    /// Extends `worker`'s claim on an unsent e-mail to `until` (the
    /// runner's heartbeat); `Ok(false)` when it no longer holds it.
    pub async fn extend_email_lease(
        &self,
        id: Uuid,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        LEASED.extend(self.db, &id.to_string(), worker, until).await
    }

    /// Marks a delivered e-mail sent at `now`, replaces its body with
    /// [`REDACTED_BODY`] and ends the lease — only if `worker` holds the
    /// claim and it is unsent; `Ok(false)` otherwise (the lease expired and
    /// another worker claimed it).
    pub async fn mark_email_sent(
        &self,
        id: Uuid,
        worker: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = outbox_email::Entity::update_many()
            .col_expr(outbox_email::Column::SentAt, Expr::value(now))
            .col_expr(outbox_email::Column::BodyText, Expr::value(REDACTED_BODY))
            .col_expr(
                outbox_email::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(LEASED.held_by(&id.to_string(), worker))
            .exec(self.db.conn())
            .await?;
        Ok(updated.rows_affected > 0)
    }

    /// Records a failed delivery: attempts + 1, `error` kept (truncated),
    /// due again at `next_attempt_at`, lease released — only if `worker`
    /// holds the claim and it is unsent (otherwise nothing changes).
    pub async fn mark_email_failed(
        &self,
        id: Uuid,
        worker: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let updated = outbox_email::Entity::update_many()
            .col_expr(
                outbox_email::Column::Attempts,
                Expr::col(outbox_email::Column::Attempts).add(1),
            )
            .col_expr(outbox_email::Column::LastError, Expr::value(error))
            .col_expr(
                outbox_email::Column::NextAttemptAt,
                Expr::value(next_attempt_at),
            )
            .col_expr(
                outbox_email::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(outbox_email::Column::ClaimedBy, Expr::value(None::<String>))
            .filter(LEASED.held_by(&id.to_string(), worker))
            .exec(self.db.conn())
            .await?;
        if updated.rows_affected == 0 {
            tracing::warn!(%id, worker, "outbox e-mail failure not recorded: claim lost");
        }
        Ok(())
    }

    /// Gives back a claimed e-mail without counting an attempt (a worker
    /// stopping before it got to it); `Ok(false)` when `worker` no longer
    /// holds the claim.
    pub async fn release_email(&self, id: Uuid, worker: &str) -> StoreResult<bool> {
        LEASED.release(self.db, &id.to_string(), worker).await
    }

    /// How many e-mails are not sent yet (due or not, claimed or not).
    pub async fn outbox_pending(&self) -> StoreResult<u64> {
        Ok(outbox_email::Entity::find()
            .filter(outbox_email::Column::SentAt.is_null())
            .count(self.db.conn())
            .await?)
    }

    /// Every e-mail to `recipient` (exactly as queued), oldest first; for
    /// tests and operations.
    pub async fn emails_for(&self, recipient: &str) -> StoreResult<Vec<OutboxEmail>> {
        outbox_email::Entity::find()
            .filter(outbox_email::Column::Recipient.eq(recipient))
            .order_by_asc(outbox_email::Column::CreatedAt)
            .order_by_asc(outbox_email::Column::Id)
            .all(self.db.conn())
            .await?
            .into_iter()
            .map(to_email)
            .collect()
    }

    /// One e-mail by id; for tests and operations.
    pub async fn find_email(&self, id: Uuid) -> StoreResult<Option<OutboxEmail>> {
        outbox_email::Entity::find_by_id(id.to_string())
            .one(self.db.conn())
            .await?
            .map(to_email)
            .transpose()
    }
}
