//! Connecting to SQLite (embedded default) or PostgreSQL, and starting write
//! transactions that cannot dead-lock.

use crate::StoreResult;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// SQLite: how long a writer waits for the lock before giving up.
    pub busy_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    backend: Backend,
}

impl Database {
    /// Opens the pool. SQLite gets WAL, a busy timeout, foreign keys and
    /// `synchronous = NORMAL` (durable with WAL across application crashes).
    pub async fn connect(settings: &DatabaseSettings) -> StoreResult<Self> {
        let mut options = ConnectOptions::new(settings.url.clone());
        let busy = settings.busy_timeout;
        options
            .max_connections(settings.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10) + busy)
            // No ping before every checkout: it doubled the round trips of
            // each statement run outside a transaction. A dead connection
            // fails its query and leaves the pool.
            .test_before_acquire(false)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        let conn = sea_orm::Database::connect(options).await?;
        let backend = match conn.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            DbBackend::Sqlite => Backend::Sqlite,
            other => {
                return Err(
                    DbErr::Custom(format!("unsupported database backend {other:?}")).into(),
                );
            }
        };
        Ok(Database { conn, backend })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.conn, None).await?;
        Ok(())
    }

    /// One round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        self.conn.ping().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock
    /// is taken up front, so two writers never dead-lock upgrading a read
    /// lock; the second waits (busy timeout) instead.
    pub(crate) async fn begin_write(&self) -> StoreResult<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    pub async fn close(self) {
        if let Err(error) = self.conn.close().await {
            tracing::warn!(%error, "closing the database pool failed");
        }
    }
}
