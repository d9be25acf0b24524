//! Login throttling: the attempts counted against each throttle key in its
//! current window. An attempt is admitted or refused by one conditional
//! upsert per login, before its password is verified, so concurrent
//! attempts cannot all pass a check that none of them has been counted in
//! yet: each key admits at most its limit per window, whatever the
//! concurrency (on PostgreSQL the upsert locks the key's row and decides on
//! its latest version; SQLite runs one writer at a time).
//!
//! A window starts with the first attempt after the previous one ended and
//! lasts the caller's `window`; then the count starts again from one.

use crate::entity::login_attempt::{self, Column};
use crate::{Database, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::future::Future;

/// Runs a single statement again (at most three times in all) when
/// PostgreSQL picked it as a deadlock victim or another transient error
/// stopped it: it ran alone, outside any transaction, so it changed
/// nothing. The release's `UPDATE` locks its rows in scan order, which can
/// cross an admission's key order under heavy concurrency.
async fn retrying_deadlocks<T, F, Fut>(mut statement: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match statement().await.map_err(StoreError::from) {
            Err(error) if tries < 3 && error.is_transient() => {
                tracing::info!(%error, tries, "throttle statement retried");
            }
            outcome => return outcome,
        }
    }
}

/// What one key made of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAdmission {
    pub key: String,
    /// Counted (within the limit); `false`: refused, not counted.
    pub admitted: bool,
    /// Attempts counted in the window, this one included if admitted.
    pub attempts: u64,
    pub window_started_at: DateTime<Utc>,
}

/// The login attempts of the store: `db.login_attempts()`.
#[derive(Clone, Copy)]
pub struct LoginAttempts<'a> {
    db: &'a Database,
}

impl Database {
    pub fn login_attempts(&self) -> LoginAttempts<'_> {
        LoginAttempts { db: self }
    }
}

impl LoginAttempts<'_> {
    /// Counts one attempt at `now` against each `(key, limit)`, in one
    /// statement: a key whose window (started `window` or more before
    /// `now`) is over starts a new one; otherwise a key below its limit
    /// counts the attempt and a key at its limit refuses it. Returns every
    /// key's outcome, in the order given. A key that admitted an attempt
    /// another key refused still counted it: give it back with
    /// [`LoginAttempts::release_login_attempts`].
    pub async fn admit_login_attempt(
        &self,
        keys: &[(String, u64)],
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> StoreResult<Vec<KeyAdmission>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let since = now - window;
        let existing = |column: Column| Expr::col((login_attempt::Entity, column));
        let expired = existing(Column::WindowStartedAt).lte(since);
        let below_limit = existing(Column::Attempts).lt(Expr::cust("excluded.attempt_limit"));
        let mut upsert = Query::insert();
        upsert.into_table(login_attempt::Entity).columns([
            Column::ThrottleKey,
            Column::WindowStartedAt,
            Column::Attempts,
            Column::AttemptLimit,
            Column::Admitted,
        ]);
        // Rows are locked in the order of the values: the same order (the
        // keys sorted) for every login, so two logins never wait on each
        // other's rows crosswise.
        let mut sorted: Vec<&(String, u64)> = keys.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, limit) in sorted {
            let limit = i64::try_from(*limit).unwrap_or(i64::MAX);
            upsert
                .values([
                    key.clone().into(),
                    now.into(),
                    1i64.into(),
                    limit.into(),
                    true.into(),
                ])
                .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?;
        }
        // Every assignment reads the row as it was before this statement.
        upsert
            .on_conflict(
                OnConflict::column(Column::ThrottleKey)
                    .values([
                        (
                            Column::Attempts,
                            Expr::case(expired.clone(), 1i64)
                                .case(below_limit.clone(), existing(Column::Attempts).add(1i64))
                                .finally(existing(Column::Attempts))
                                .into(),
                        ),
                        (
                            Column::WindowStartedAt,
                            Expr::case(expired.clone(), now)
                                .finally(existing(Column::WindowStartedAt))
                                .into(),
                        ),
                        (
                            Column::Admitted,
                            Expr::case(expired.or(below_limit), true)
                                .finally(false)
                                .into(),
                        ),
                        (Column::AttemptLimit, Expr::cust("excluded.attempt_limit")),
                    ])
                    .to_owned(),
            )
            .returning(Query::returning().columns([
                Column::ThrottleKey,
                Column::WindowStartedAt,
                Column::Attempts,
                Column::Admitted,
            ]));
        let rows = retrying_deadlocks(|| self.db.conn().query_all(&upsert)).await?;
        let mut outcomes = Vec::with_capacity(keys.len());
        for (key, _) in keys {
            let row = rows
                .iter()
                .find(|row| row.try_get::<String>("", "throttle_key").ok().as_ref() == Some(key))
                .ok_or_else(|| StoreError::Corrupt(format!("no outcome for throttle key {key}")))?;
            let attempts: i64 = row.try_get("", "attempts")?;
            outcomes.push(KeyAdmission {
                key: key.clone(),
                admitted: row.try_get("", "admitted")?,
                attempts: crate::in_range(attempts, "login attempts")?,
                window_started_at: row.try_get("", "window_started_at")?,
            });
        }
        Ok(outcomes)
    }

    /// Gives back one attempt to each admission in `released` (if its
    /// window is still the one that counted it), and sets `cleared`'s count
    /// to zero; one statement.
    pub async fn release_login_attempts(
        &self,
        released: &[KeyAdmission],
        cleared: Option<&str>,
    ) -> StoreResult<()> {
        let mut which = Condition::any();
        for admission in released.iter().filter(|a| a.admitted) {
            which = which.add(
                Condition::all()
                    .add(Column::ThrottleKey.eq(admission.key.as_str()))
                    .add(Column::WindowStartedAt.eq(admission.window_started_at)),
            );
        }
        let attempts: Expr = match cleared {
            Some(key) => {
                which = which.add(Column::ThrottleKey.eq(key));
                Expr::case(Column::ThrottleKey.eq(key), 0i64)
                    .finally(Expr::col(Column::Attempts).sub(1i64))
                    .into()
            }
            None => Expr::col(Column::Attempts).sub(1i64),
        };
        if which.is_empty() {
            return Ok(());
        }
        retrying_deadlocks(|| {
            login_attempt::Entity::update_many()
                .col_expr(Column::Attempts, attempts.clone())
                .filter(which.clone())
                .filter(Column::Attempts.gt(0))
                .exec(self.db.conn())
        })
        .await?;
        Ok(())
    }

    /// Deletes the keys whose window started before `before`
    /// (housekeeping; pass at least a window ago); returns how many.
    pub async fn prune_login_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let pruned = login_attempt::Entity::delete_many()
            .filter(Column::WindowStartedAt.lt(before))
            .exec(self.db.conn())
            .await?;
        Ok(pruned.rows_affected)
    }
}
