//! Storage: sea-orm entities and the repositories the api calls. SQL lives
//! here and nowhere else; database errors are mapped to [`StoreError`].

mod batch;
pub mod cart;
mod database;
mod entity;
pub mod idempotency;
pub mod identity;
pub mod order;
pub mod outbox;
pub mod service;
pub mod throttle;

pub use database::{Backend, Database, DatabaseSettings};

/// Failures of the storage layer that callers may act upon.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write: another writer got there first.
    #[error("conflict: {0}")]
    Conflict(String),
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
            _ => StoreError::Db(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// `at` truncated to the microsecond, the precision PostgreSQL keeps: a
/// time written so is read back equal, and a record returned from memory
/// equals the one read later.
pub(crate) fn to_micros(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}
