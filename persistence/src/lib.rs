//! Storage: sea-orm entities and the repositories the api calls. SQL lives
//! here and nowhere else; database errors are mapped to [`StoreError`].

mod batch;
pub mod cart;
pub mod contact;
mod database;
mod entity;
mod holder;
pub mod idempotency;
pub mod identity;
pub mod invoice;
pub mod jobs;
mod lease;
pub mod order;
pub mod outbox;
mod reads;
pub mod service;
pub mod setup;
pub mod throttle;

pub use database::{Backend, Database, DatabaseSettings};

/// Failures of the storage layer that callers may act upon.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write: another writer got there first.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key refused the write: other rows point to the one it
    /// deletes (a contact that invoices point to), or it points to a row
    /// that is not there.
    #[error("still referenced: {0}")]
    Referenced(String),
    /// Data in the database that the code cannot read back (a bug or a
    /// manual edit); never the client's fault.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[source] sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(error: sea_orm::DbErr) -> Self {
        match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) => {
                StoreError::Conflict(detail)
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(detail)) => {
                StoreError::Referenced(detail)
            }
            _ => StoreError::Db(error),
        }
    }
}

impl StoreError {
    /// Whether the same statement may succeed if simply tried again: the
    /// connection or the pool failed, a statement timed out or was
    /// cancelled, PostgreSQL gave up a serialization or a deadlock, SQLite
    /// was busy. Anything else (a constraint, a value the database cannot
    /// store, a corrupt row) fails again on every retry.
    pub fn is_transient(&self) -> bool {
        use sea_orm::{DbErr, RuntimeErr};
        let StoreError::Db(error) = self else {
            return false;
        };
        let runtime = match error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
            DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
            _ => return false,
        };
        let RuntimeErr::SqlxError(sqlx_error) = runtime else {
            return false;
        };
        use sea_orm::sqlx::Error as SqlxError;
        match sqlx_error.as_ref() {
            SqlxError::Io(_)
            | SqlxError::PoolTimedOut
            | SqlxError::PoolClosed
            | SqlxError::WorkerCrashed
            | SqlxError::Protocol(_) => true,
            SqlxError::Database(database) => database.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08…), serialization
                // failure, deadlock, lock not available, cancelled
                // (statement timeout), shutting down. SQLite: busy, locked.
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03"
                    )
                    || matches!(code.as_ref(), "5" | "6" | "261" | "262" | "517")
            }),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A column's text as the domain value it names (`parse`: the domain's own
/// reading); any other text is [`StoreError::Corrupt`], never a default.
pub(crate) fn read_as<T>(text: &str, what: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("{what} `{text}`")))
}

/// A column's number in the type the code counts in (a quantity read as
/// `u32`, …); out of that range is [`StoreError::Corrupt`], never clamped.
pub(crate) fn in_range<T, N>(value: N, what: &str) -> StoreResult<T>
where
    N: Copy + std::fmt::Display,
    T: TryFrom<N>,
{
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

/// `at` truncated to the microsecond, the precision PostgreSQL keeps: a
/// time written so is read back equal, and a record returned from memory
/// equals the one read later.
pub(crate) fn to_micros(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}
