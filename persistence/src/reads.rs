//! Where the hot reads run (a session's lookup, the contacts' and invoices'
//! lists): on SQLite, read-only connections that Attiva keeps between
//! statements; elsewhere, the one pool.
//!
//! sqlx pings every connection it takes back into its pool. On SQLite that
//! ping is a round trip to the connection's own thread, and a contacts page
//! (a session lookup and a list) paid two of them beside its two reads. A
//! connection kept here goes back to a list of idle ones, with no ping.
//! These connections only read and never hold a transaction, so there is
//! nothing to flush between two statements; a statement that fails, or
//! whose request was dropped half-way, hands its connection back to sqlx,
//! which pings it and closes it if it is broken.

use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Sqlite, SqlitePool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Semaphore, SemaphorePermit};

/// SQLite's read-only connections, at most `size` of them, each kept by
/// Attiva from the first read that needed it.
#[derive(Debug)]
pub(crate) struct HeldReads {
    pool: SqlitePool,
    /// One per connection: a read waits here when all are busy.
    permits: Semaphore,
    idle: Mutex<Vec<PoolConnection<Sqlite>>>,
}

impl HeldReads {
    /// Keeps up to `size` connections of `pool` (whose own limit is `size`).
    pub(crate) fn new(pool: SqlitePool, size: u32) -> Arc<Self> {
        Arc::new(HeldReads {
            pool,
            permits: Semaphore::new(size as usize),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// How many connections sqlx has open for these reads.
    #[cfg(test)]
    pub(crate) fn opened(&self) -> u32 {
        self.pool.size()
    }

    /// How many connections are kept idle here.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.idle().len()
    }

    /// sqlx's pool, for tests that look at what it holds.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Hands every kept connection back to sqlx and closes its pool.
    pub(crate) async fn close(&self) {
        self.idle().clear();
        self.pool.close().await;
    }

    fn idle(&self) -> MutexGuard<'_, Vec<PoolConnection<Sqlite>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn checkout(&self) -> Result<Checkout<'_>, DbErr> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DbErr::Custom("the read connections are closed".into()))?;
        let idle = self.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            // Never more taken than permits, so sqlx has one to give (or
            // soon will: one handed back is pinged first).
            None => self
                .pool
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?,
        };
        Ok(Checkout {
            held: self,
            conn,
            _permit: permit,
        })
    }
}

/// A connection in use by one statement. Kept (put back among the idle
/// ones) only by [`Checkout::keep`], after the statement succeeded; dropped
/// otherwise, it goes back to sqlx.
struct Checkout<'a> {
    held: &'a HeldReads,
    conn: PoolConnection<Sqlite>,
    _permit: SemaphorePermit<'a>,
}

impl Checkout<'_> {
    fn keep(self) {
        self.held.idle().push(self.conn);
    }
}

fn query(Statement { sql, values, .. }: &Statement) -> sqlx::query::Query<'_, Sqlite, SqlxValues> {
    let values = values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(sql.as_str()), SqlxValues(values))
}

fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
}

/// The connection a read runs on: see [`crate::Database::reads`].
#[derive(Clone, Copy)]
pub(crate) enum Reads<'a> {
    Pool(&'a DatabaseConnection),
    Held(&'a HeldReads),
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Reads::Pool(conn) => conn.get_database_backend(),
            Reads::Held(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Pool(conn) => conn.execute_raw(stmt).await,
            Reads::Held(held) => {
                let mut checkout = held.checkout().await?;
                let done = query(&stmt)
                    .execute(&mut *checkout.conn)
                    .await
                    .map_err(query_error)?;
                checkout.keep();
                Ok(done.into())
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Pool(conn) => conn.execute_unprepared(sql).await,
            Reads::Held(_) => {
                self.execute_raw(Statement::from_string(DbBackend::Sqlite, sql))
                    .await
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Reads::Pool(conn) => conn.query_one_raw(stmt).await,
            Reads::Held(held) => {
                let mut checkout = held.checkout().await?;
                let row = query(&stmt)
                    .fetch_optional(&mut *checkout.conn)
                    .await
                    .map_err(query_error)?;
                checkout.keep();
                Ok(row.map(QueryResult::from))
            }
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Reads::Pool(conn) => conn.query_all_raw(stmt).await,
            Reads::Held(held) => {
                let mut checkout = held.checkout().await?;
                let rows = query(&stmt)
                    .fetch_all(&mut *checkout.conn)
                    .await
                    .map_err(query_error)?;
                checkout.keep();
                Ok(rows.into_iter().map(QueryResult::from).collect())
            }
        }
    }
}
