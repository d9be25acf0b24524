//! Connecting to SQLite (embedded default) or PostgreSQL, and starting write
//! transactions that cannot dead-lock.

use crate::StoreResult;
use crate::reads::{HeldReads, ReadPool, Reads};
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
    /// The size of a second, read-only pool for the hot reads (a session's
    /// lookup, lists, the rows a request checks before it writes), whose
    /// connections Attiva keeps between statements (`reads.rs`). On SQLite
    /// WAL lets them run beside each other and beside the one writer. 0
    /// reads on the writer's pool.
    pub read_connections: u32,
}

#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    /// The read-only pool, when asked for (and, on SQLite, the database is
    /// a file), whose connections Attiva keeps between reads.
    reads: Option<ReadPool>,
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
            _ if settings.read_connections == 0 => None,
            Backend::Sqlite if in_memory(&settings.url) => None,
            Backend::Sqlite => {
                // Opened after the writer: the file exists and is in WAL
                // mode (which the file keeps), so these only read.
                let mut options = pool_options(settings, settings.read_connections);
                options.map_sqlx_sqlite_opts(move |opts| opts.read_only(true).busy_timeout(busy));
                let pool = sea_orm::Database::connect(options).await?;
                Some(ReadPool::Sqlite(HeldReads::new(
                    pool.get_sqlite_connection_pool().clone(),
                    settings.read_connections,
                )))
            }
            Backend::Postgres => {
                // The server refuses a write on these.
                let mut options = pool_options(settings, settings.read_connections);
                options.map_sqlx_postgres_opts(|opts| {
                    opts.options([("default_transaction_read_only", "on")])
                });
                let pool = sea_orm::Database::connect(options).await?;
                Some(ReadPool::Postgres(HeldReads::new(
                    pool.get_postgres_connection_pool().clone(),
                    settings.read_connections,
                )))
            }
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

    /// Where a read outside a transaction runs: the read-only connections,
    /// which are not pinged after each statement (`reads.rs`), and on
    /// SQLite neither queue behind the writer nor behind each other. A read
    /// here sees every transaction committed before it started.
    pub(crate) fn reads(&self) -> Reads<'_> {
        match &self.reads {
            Some(pool) => pool.reads(),
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
                conn.get_database_backend(),
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

    /// `result` is an error whose text holds one of `texts` (each backend
    /// words the same refusal its own way).
    fn assert_fails_with(result: &Result<(), DbErr>, texts: &[&str]) {
        assert!(
            result.as_ref().is_err_and(|e| {
                let text = e.to_string();
                texts.iter().any(|t| text.contains(t))
            }),
            "{result:?}, expected one of {texts:?}"
        );
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

    testkit::both_databases!(
        reads_see_every_committed_write_and_cannot_write,
        reads_keep_their_connections_instead_of_handing_them_back,
        a_failed_or_abandoned_read_gives_its_connection_back,
    );

    async fn reads_see_every_committed_write_and_cannot_write(database: testkit::FreshDatabase) {
        let db = open(database.url, 2).await;
        assert!(db.reads.is_some(), "a read pool is opened");
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
        // SQLite: "attempt to write a readonly database"; PostgreSQL:
        // "cannot execute INSERT in a read-only transaction".
        assert_fails_with(&refused, &["readonly", "read-only"]);
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

    async fn with_notes(database: testkit::FreshDatabase, read_connections: u32) -> Database {
        let db = open(database.url, read_connections).await;
        run(db.conn(), "CREATE TABLE notes (text TEXT NOT NULL)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        db
    }

    /// (connections sqlx has open for the reads, kept idle by Attiva, idle
    /// in sqlx's own pool).
    fn read_connections(db: &Database) -> (u32, usize, usize) {
        match &db.reads {
            Some(ReadPool::Sqlite(held)) => held.counts(),
            Some(ReadPool::Postgres(held)) => held.counts(),
            None => panic!("a file database has read connections"),
        }
    }

    async fn reads_keep_their_connections_instead_of_handing_them_back(
        database: testkit::FreshDatabase,
    ) {
        let db = with_notes(database, 2).await;
        for _ in 0..20 {
            assert_eq!(count(&db.reads()).await, 0);
        }
        // One connection served the twenty reads in turn, and sqlx never
        // had it back (so never pinged it).
        assert_eq!(read_connections(&db), (1, 1, 0));
        // Sixteen at once share the two.
        let reads = db.reads();
        let counts = futures_util::future::join_all((0..16).map(|_| count(&reads))).await;
        assert_eq!(counts, vec![0; 16]);
        let (opened, kept, in_sqlx) = read_connections(&db);
        assert!(opened <= 2, "{opened}");
        assert_eq!((kept, in_sqlx), (opened as usize, 0));
        db.close().await;
    }

    async fn a_failed_or_abandoned_read_gives_its_connection_back(
        database: testkit::FreshDatabase,
    ) {
        let db = with_notes(database, 1).await;
        let failed = run(&db.reads(), "SELECT * FROM missing").await;
        // SQLite: "no such table"; PostgreSQL: "relation … does not exist".
        assert_fails_with(&failed, &["no such table", "does not exist"]);
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
