//! Claiming rows under a lease, for any table that has the lease columns:
//! when due, who holds the claim and until when, when done. The outbox
//! (`outbox_emails`) and the job table (`jobs`) both claim through
//! [`Leased`], so the one statement that makes claiming safe with several
//! servers on one database is written once.
//!
//! On PostgreSQL the due rows are selected `FOR UPDATE SKIP LOCKED` and
//! leased by the same statement, so concurrent claimers take disjoint
//! rows; on SQLite the statement runs alone under the write lock. A lease
//! that runs out (its holder died) makes the row claimable again; a holder
//! that is alive extends it ([`Leased::extend`]).

use crate::{Backend, Database, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use std::time::Duration;

/// The lease columns of the table of `E`.
pub(crate) struct Leased<E: EntityTrait> {
    /// The primary key, text.
    pub id: E::Column,
    /// Not claimed before this.
    pub due_at: E::Column,
    pub claimed_by: E::Column,
    pub claimed_until: E::Column,
    /// Set once the row's work is done: never claimed again.
    pub done_at: E::Column,
}

/// `now + lease`, saturating.
pub(crate) fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    now.checked_add_signed(lease)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl<E: EntityTrait> Leased<E> {
    /// Not done, due, and not under a live lease at `now`.
    fn claimable(&self, now: DateTime<Utc>) -> Condition {
        Condition::all()
            .add(self.done_at.is_null())
            .add(self.due_at.lte(now))
            .add(
                Condition::any()
                    .add(self.claimed_until.is_null())
                    .add(self.claimed_until.lte(now)),
            )
    }

    /// Still held by `worker` and not done: the condition of every update
    /// only the holder's claim may make (marking done, recording a failure).
    pub(crate) fn held_by(&self, id: &str, worker: &str) -> Condition {
        Condition::all()
            .add(self.id.eq(id))
            .add(self.claimed_by.eq(worker))
            .add(self.done_at.is_null())
    }

    /// Claims up to `limit` claimable rows matching `scope` for `worker`
    /// until `now + lease`, oldest due first, and returns them as claimed.
    /// Concurrent claimers (other processes included) get disjoint rows.
    pub(crate) async fn claim(
        &self,
        db: &Database,
        scope: Condition,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<E::Model>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = lease_end(now, lease);
        let candidates = scope.add(self.claimable(now));
        if db.backend() == Backend::Sqlite {
            // Most polls find nothing: on SQLite a read needs no write lock,
            // while the claim's UPDATE would take it even to change nothing.
            let due = E::find()
                .select_only()
                .column(self.id)
                .filter(candidates.clone())
                .limit(1)
                .into_tuple::<String>()
                .one(db.conn())
                .await?;
            if due.is_none() {
                return Ok(Vec::new());
            }
        }
        // One statement: lease the oldest due rows and return them. On
        // PostgreSQL rows another claimer holds are skipped, not waited
        // for, and a row it has just leased no longer matches once re-read;
        // on SQLite the statement runs alone under the write lock.
        let mut due = Query::select();
        due.column(self.id)
            .from(E::default().table_ref())
            .cond_where(candidates)
            .order_by(self.due_at, Order::Asc)
            .order_by(self.id, Order::Asc)
            .limit(limit);
        if db.backend() == Backend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let mut claim = Query::update();
        claim
            .table(E::default().table_ref())
            .value(self.claimed_until, until)
            .value(self.claimed_by, worker)
            .and_where(self.id.in_subquery(due))
            .returning_all();
        let rows = db.conn().query_all(&claim).await?;
        rows.iter()
            .map(|row| E::Model::from_query_result(row, "").map_err(Into::into))
            .collect()
    }

    /// Extends `worker`'s claim on row `id` to `until` (a heartbeat);
    /// `Ok(false)` when `worker` no longer holds it (the lease ran out and
    /// another claimer took it, or the row is done).
    pub(crate) async fn extend(
        &self,
        db: &Database,
        id: &str,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = E::update_many()
            .col_expr(self.claimed_until, Expr::value(until))
            .filter(self.held_by(id, worker))
            .exec(db.conn())
            .await?;
        Ok(updated.rows_affected > 0)
    }

    /// Gives row `id` back, claimable at once, without counting an attempt
    /// (a runner stopping before it got to it); `Ok(false)` when `worker`
    /// no longer holds the claim.
    pub(crate) async fn release(&self, db: &Database, id: &str, worker: &str) -> StoreResult<bool> {
        let updated = E::update_many()
            .col_expr(self.claimed_until, Expr::value(None::<DateTime<Utc>>))
            .col_expr(self.claimed_by, Expr::value(None::<String>))
            .filter(self.held_by(id, worker))
            .exec(db.conn())
            .await?;
        Ok(updated.rows_affected > 0)
    }
}
