//! The job table: work the job runner (`api::jobs::runner`) claims under a
//! lease, other than e-mails (which have the outbox). A row is one piece
//! of work of a `kind`: a periodic job is one row whose `due_at` moves on
//! after each run ([`Jobs::finish_job`] with a next time), so servers
//! sharing the database take turns; a one-off job (a matching run) ends
//! `done_at`. A row whose holder died is claimed again once its lease runs
//! out, so the work resumes on another server.

use crate::entity::job;
use crate::lease::Leased;
use crate::{Database, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Set};
use std::time::Duration;

/// The longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// The job table's lease columns.
const LEASED: Leased<job::Entity> = Leased {
    id: job::Column::Id,
    due_at: job::Column::DueAt,
    claimed_by: job::Column::ClaimedBy,
    claimed_until: job::Column::ClaimedUntil,
    done_at: job::Column::DoneAt,
};

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Chosen by the job's owner: a fixed name for a periodic job
    /// (`order_expiry`), the run's id for a one-off job.
    pub id: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Not claimed before this.
    pub due_at: DateTime<Utc>,
    /// Failed runs since the last success.
    pub attempts: i32,
    /// The lease of the runner that claimed it; claimable again after it.
    pub claimed_until: Option<DateTime<Utc>>,
    /// The runner that claimed it (kept once a one-off job is done).
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    /// Set when a one-off job is done; it is never claimed again.
    pub done_at: Option<DateTime<Utc>>,
}

fn to_record(row: job::Model) -> JobRecord {
    JobRecord {
        id: row.id,
        kind: row.kind,
        created_at: row.created_at,
        due_at: row.due_at,
        attempts: row.attempts,
        claimed_until: row.claimed_until,
        claimed_by: row.claimed_by,
        last_error: row.last_error,
        done_at: row.done_at,
    }
}

/// The jobs of the store: `db.jobs()`.
#[derive(Clone, Copy)]
pub struct Jobs<'a> {
    db: &'a Database,
}

impl Database {
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { db: self }
    }
}

impl Jobs<'_> {
    /// Adds job `id` of `kind`, due at `due_at`, unless a job with that id
    /// exists (then nothing changes: a periodic job is scheduled once by
    /// whichever server starts first); returns whether it was added.
    pub async fn schedule_job(
        &self,
        id: &str,
        kind: &str,
        due_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let row = job::ActiveModel {
            id: Set(id.to_owned()),
            kind: Set(kind.to_owned()),
            created_at: Set(Utc::now()),
            due_at: Set(due_at),
            attempts: Set(0),
            claimed_until: Set(None),
            claimed_by: Set(None),
            last_error: Set(None),
            done_at: Set(None),
        };
        let insert = job::Entity::insert(row)
            .on_conflict(OnConflict::column(job::Column::Id).do_nothing().to_owned())
            .into_query();
        let inserted = self.db.conn().execute(&insert).await?;
        Ok(inserted.rows_affected() > 0)
    }

    /// Claims up to `limit` due jobs of `kind` for `worker` until
    /// `now + lease`, oldest due first; concurrent claimers (other
    /// processes included) get disjoint sets, and a job whose lease ran
    /// out is claimable again.
    pub async fn claim_jobs(
        &self,
        kind: &str,
        worker: &str,
        limit: u64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<JobRecord>> {
        let scope = Condition::all().add(job::Column::Kind.eq(kind));
        let mut jobs: Vec<JobRecord> = LEASED
            .claim(self.db, scope, worker, limit, lease, now)
            .await?
            .into_iter()
            .map(to_record)
            .collect();
        jobs.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(jobs)
    }

    /// Extends `worker`'s claim on job `id` to `until` (the runner's
    /// heartbeat); `Ok(false)` when it no longer holds it.
    pub async fn extend_job_lease(
        &self,
        id: &str,
        worker: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        LEASED.extend(self.db, id, worker, until).await
    }

    /// Gives job `id` back, due as it was, without counting an attempt;
    /// `Ok(false)` when `worker` no longer holds it.
    pub async fn release_job(&self, id: &str, worker: &str) -> StoreResult<bool> {
        LEASED.release(self.db, id, worker).await
    }

    /// Ends a successful run of job `id` by `worker`: a periodic job is due
    /// again at `next` (claim released, failures forgotten); a one-off job
    /// (`next` is `None`) is done at `now`. `Ok(false)` when `worker` no
    /// longer holds the claim (nothing changes).
    pub async fn finish_job(
        &self,
        id: &str,
        worker: &str,
        now: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let update = job::Entity::update_many()
            .col_expr(
                job::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(LEASED.held_by(id, worker));
        let update = match next {
            Some(next) => update
                .col_expr(job::Column::DueAt, Expr::value(next))
                .col_expr(job::Column::Attempts, Expr::value(0))
                .col_expr(job::Column::LastError, Expr::value(None::<String>))
                .col_expr(job::Column::ClaimedBy, Expr::value(None::<String>)),
            None => update.col_expr(job::Column::DoneAt, Expr::value(now)),
        };
        Ok(update.exec(self.db.conn()).await?.rows_affected > 0)
    }

    /// Records a failed run of job `id` by `worker`: attempts + 1, `error`
    /// kept (truncated), due again at `due_at`, claim released — only if
    /// `worker` holds it; `Ok(false)` otherwise (nothing changes).
    pub async fn retry_job(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        due_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let updated = job::Entity::update_many()
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(job::Column::LastError, Expr::value(error))
            .col_expr(job::Column::DueAt, Expr::value(due_at))
            .col_expr(
                job::Column::ClaimedUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(job::Column::ClaimedBy, Expr::value(None::<String>))
            .filter(LEASED.held_by(id, worker))
            .exec(self.db.conn())
            .await?;
        Ok(updated.rows_affected > 0)
    }

    /// One job by id; for tests and operations.
    pub async fn find_job(&self, id: &str) -> StoreResult<Option<JobRecord>> {
        Ok(job::Entity::find_by_id(id.to_owned())
            .one(self.db.conn())
            .await?
            .map(to_record))
    }
}
