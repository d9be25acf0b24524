//! Connecting to SQLite (embedded default) or PostgreSQL, and starting write
//! transactions that cannot dead-lock.

use crate::StoreResult;
use crate::reads::{HeldReads, Reads};
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::sync::Arc;
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
    /// SQLite: the size of a second, read-only pool for the hot reads (a
    /// session's lookup, lists), which WAL lets run beside each other and
    /// beside the one writer; 0 reads on the writer's pool. PostgreSQL
    /// reads on its one pool whatever this says.
    pub read_connections: u32,
}

#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    /// The read-only pool on SQLite, when asked for and the database is a
    /// file, whose connections Attiva keeps between reads.
    reads: Option<Arc<HeldReads>>,
    backend: Backend,
}

impl Database {
    /// Opens the pool. SQLite gets WAL, a busy timeout, foreign keys and
    /// `synchronous = NORMAL` (durable with WAL across application crashes).
    pub async fn connect(settings: &DatabaseSettings) -> StoreResult<Self> {
        let busy = settings.busy_timeout;
        let mut options = pool_options(settings, settings.max_connections);
        options.map_sqlx_sqlite_opts(move |opts| {
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
        let reads = match backend {
            Backend::Sqlite if settings.read_connections > 0 && !in_memory(&settings.url) => {
                // Opened after the writer: the file exists and is in WAL
                // mode (which the file keeps), so these only read.
                let mut options = pool_options(settings, settings.read_connections);
                options.map_sqlx_sqlite_opts(move |opts| opts.read_only(true).busy_timeout(busy));
                let pool = sea_orm::Database::connect(options).await?;
                Some(HeldReads::new(
                    pool.get_sqlite_connection_pool().clone(),
                    settings.read_connections,
                ))
            }
            _ => None,
        };
        Ok(Database {
            conn,
            reads,
            backend,
        })
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

    /// Where a read that needs no write of its own request runs: on
    /// SQLite the read-only connections, so reads neither queue behind the
    /// writer nor behind each other (and are not pinged after each
    /// statement: `reads.rs`); on PostgreSQL the one pool. A read here sees
    /// every transaction committed before it started.
    pub(crate) fn reads(&self) -> Reads<'_> {
        match &self.reads {
            Some(held) => Reads::Held(held),
            None => Reads::Pool(&self.conn),
        }
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
        if let Some(reads) = self.reads {
            reads.close().await;
        }
        if let Err(error) = self.conn.close().await {
            tracing::warn!(%error, "closing the database pool failed");
        }
    }
}

/// A pool of `size` connections to the settings' database.
fn pool_options(settings: &DatabaseSettings, size: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10) + settings.busy_timeout)
        // No ping before every checkout: it doubled the round trips of
        // each statement run outside a transaction. A dead connection
        // fails its query and leaves the pool.
        .test_before_acquire(false)
        .sqlx_logging(false);
    options
}

/// An in-memory SQLite database lives in its one connection's pool: a
/// second pool would open another, empty database.
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    async fn open(url: String, read_connections: u32) -> Database {
        Database::connect(&DatabaseSettings {
            url,
            max_connections: 1,
            busy_timeout: Duration::from_secs(5),
            read_connections,
        })
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"))
    }

    async fn count(conn: &impl ConnectionTrait) -> i64 {
        let row = conn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM notes",
            ))
            .await
            .unwrap_or_else(|e| panic!("counting: {e}"))
            .unwrap_or_else(|| panic!("no row"));
        row.try_get::<i64>("", "n")
            .unwrap_or_else(|e| panic!("reading the count: {e}"))
    }

    async fn run(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
        conn.execute_unprepared(sql).await.map(|_| ())
    }

    #[tokio::test]
    async fn the_bundled_sqlite_plans_without_bound_values_and_keeps_no_memory_statistics() {
        let db = open("sqlite::memory:".into(), 0).await;
        let options: Vec<String> = db
            .conn()
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .unwrap_or_else(|e| panic!("reading the compile options: {e}"))
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .collect();
        // Set in .cargo/config.toml (LIBSQLITE3_FLAGS).
        assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        db.close().await;
    }

    #[tokio::test]
    async fn sqlite_reads_see_every_committed_write_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}/reads.db?mode=rwc", dir.path().display());
        let db = open(url, 2).await;
        run(db.conn(), "CREATE TABLE notes (text TEXT NOT NULL)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for n in 1..=3 {
            run(db.conn(), "INSERT INTO notes (text) VALUES ('written')")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(count(&db.reads()).await, n, "the read pool sees write {n}");
        }
        let refused = run(&db.reads(), "INSERT INTO notes (text) VALUES ('read pool')").await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("readonly")),
            "{refused:?}"
        );
        assert_eq!(count(db.conn()).await, 3);
        db.close().await;
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_reads_on_its_one_pool() {
        // A second pool would open a second, empty in-memory database.
        let db = open("sqlite::memory:".into(), 2).await;
        run(db.conn(), "CREATE TABLE notes (text TEXT NOT NULL)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        run(db.conn(), "INSERT INTO notes (text) VALUES ('written')")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&db.reads()).await, 1);
        db.close().await;
    }

    async fn file_with_notes(read_connections: u32) -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}/held.db?mode=rwc", dir.path().display());
        let db = open(url, read_connections).await;
        run(db.conn(), "CREATE TABLE notes (text TEXT NOT NULL)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, db)
    }

    fn held(db: &Database) -> &HeldReads {
        db.reads
            .as_ref()
            .map(|held| held.as_ref())
            .unwrap_or_else(|| panic!("a file database has read connections"))
    }

    #[tokio::test]
    async fn sqlite_reads_keep_their_connections_instead_of_handing_them_back() {
        let (_dir, db) = file_with_notes(2).await;
        for _ in 0..20 {
            assert_eq!(count(&db.reads()).await, 0);
        }
        // One connection served the twenty reads in turn, and sqlx never
        // had it back (so never pinged it).
        assert_eq!(held(&db).opened(), 1);
        assert_eq!(held(&db).kept(), 1);
        assert_eq!(held(&db).pool().num_idle(), 0);
        // Sixteen at once share the two.
        let reads = db.reads();
        let counts = futures_util::future::join_all((0..16).map(|_| count(&reads))).await;
        assert_eq!(counts, vec![0; 16]);
        assert!(held(&db).opened() <= 2, "{}", held(&db).opened());
        db.close().await;
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_sqlite_read_gives_its_connection_back() {
        let (_dir, db) = file_with_notes(1).await;
        let failed = run(&db.reads(), "SELECT * FROM missing").await;
        assert!(
            failed
                .as_ref()
                .is_err_and(|e| e.to_string().contains("no such table")),
            "{failed:?}"
        );
        // A read dropped half-way (its request went away).
        let reads = db.reads();
        let mut abandoned = Box::pin(count(&reads));
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(abandoned.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "the read had no time to finish");
        drop(abandoned);
        // The one connection is free again: these would wait forever for a
        // connection that was lost.
        for _ in 0..3 {
            let n = tokio::time::timeout(Duration::from_secs(10), count(&db.reads()))
                .await
                .unwrap_or_else(|_| panic!("the read connection was lost"));
            assert_eq!(n, 0);
        }
        db.close().await;
    }
}
