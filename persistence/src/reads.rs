//! Where the hot reads run (a session's lookup, the lists, the rows a
//! request checks before it writes): read-only connections that Attiva
//! keeps between statements, on SQLite and on PostgreSQL; the one pool
//! where there are none (an in-memory SQLite, or the setting at 0).
//!
//! sqlx pings every connection it takes back into its pool: on SQLite a
//! round trip to the connection's own thread, on PostgreSQL one to the
//! server. A contacts page (a session lookup and a list) paid two of them
//! beside its two reads. A connection kept here goes back to a list of idle
//! ones, with no ping. These connections only read and never hold a
//! transaction, so there is nothing to flush between two statements (a
//! reply left unread by `fetch_optional` is drained by sqlx before the next
//! statement); a statement that fails, or whose request was dropped
//! half-way, hands its connection back to sqlx, which pings it and closes it
//! if it is broken.

use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Pool, Postgres, Sqlite};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Read-only connections, at most `size` of them, each kept by Attiva from
/// the first read that needed it.
#[derive(Debug)]
pub(crate) struct HeldReads<DB: sqlx::Database> {
    pool: Pool<DB>,
    /// One per connection: a read waits here when all are busy.
    permits: Semaphore,
    idle: Mutex<Vec<PoolConnection<DB>>>,
}

/// The read connections of either backend.
#[derive(Debug, Clone)]
pub(crate) enum ReadPool {
    Sqlite(Arc<HeldReads<Sqlite>>),
    Postgres(Arc<HeldReads<Postgres>>),
}

impl ReadPool {
    pub(crate) fn reads(&self) -> Reads<'_> {
        match self {
            ReadPool::Sqlite(held) => Reads::Sqlite(held),
            ReadPool::Postgres(held) => Reads::Postgres(held),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            ReadPool::Sqlite(held) => held.close().await,
            ReadPool::Postgres(held) => held.close().await,
        }
    }
}

impl<DB: sqlx::Database> HeldReads<DB> {
    /// Keeps up to `size` connections of `pool` (whose own limit is `size`).
    pub(crate) fn new(pool: Pool<DB>, size: u32) -> Arc<Self> {
        Arc::new(HeldReads {
            pool,
            permits: Semaphore::new(size as usize),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// (connections sqlx has open for these reads, kept idle here, idle in
    /// sqlx's own pool).
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (u32, usize, usize) {
        (self.pool.size(), self.idle().len(), self.pool.num_idle())
    }

    /// Hands every kept connection back to sqlx and closes its pool.
    pub(crate) async fn close(&self) {
        self.idle().clear();
        self.pool.close().await;
    }

    fn idle(&self) -> MutexGuard<'_, Vec<PoolConnection<DB>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn checkout(&self) -> Result<Checkout<'_, DB>, DbErr> {
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

/// One statement on a kept connection.
impl<DB> HeldReads<DB>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    SqlxValues: sqlx::IntoArguments<DB>,
{
    async fn execute(&self, stmt: &Statement) -> Result<DB::QueryResult, DbErr> {
        let mut checkout = self.checkout().await?;
        let done = query(stmt)
            .execute(&mut *checkout.conn)
            .await
            .map_err(query_error)?;
        checkout.keep();
        Ok(done)
    }

    async fn fetch_optional(&self, stmt: &Statement) -> Result<Option<DB::Row>, DbErr> {
        let mut checkout = self.checkout().await?;
        let row = query(stmt)
            .fetch_optional(&mut *checkout.conn)
            .await
            .map_err(query_error)?;
        checkout.keep();
        Ok(row)
    }

    async fn fetch_all(&self, stmt: &Statement) -> Result<Vec<DB::Row>, DbErr> {
        let mut checkout = self.checkout().await?;
        let rows = query(stmt)
            .fetch_all(&mut *checkout.conn)
            .await
            .map_err(query_error)?;
        checkout.keep();
        Ok(rows)
    }
}

/// A connection in use by one statement. Kept (put back among the idle
/// ones) only by [`Checkout::keep`], after the statement succeeded; dropped
/// otherwise, it goes back to sqlx.
struct Checkout<'a, DB: sqlx::Database> {
    held: &'a HeldReads<DB>,
    conn: PoolConnection<DB>,
    _permit: SemaphorePermit<'a>,
}

impl<DB: sqlx::Database> Checkout<'_, DB> {
    fn keep(self) {
        self.held.idle().push(self.conn);
    }
}

fn query<DB>(Statement { sql, values, .. }: &Statement) -> sqlx::query::Query<'_, DB, SqlxValues>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
{
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
    Sqlite(&'a HeldReads<Sqlite>),
    Postgres(&'a HeldReads<Postgres>),
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Reads::Pool(conn) => conn.get_database_backend(),
            Reads::Sqlite(_) => DbBackend::Sqlite,
            Reads::Postgres(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Pool(conn) => conn.execute_raw(stmt).await,
            Reads::Sqlite(held) => held.execute(&stmt).await.map(ExecResult::from),
            Reads::Postgres(held) => held.execute(&stmt).await.map(ExecResult::from),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Pool(conn) => conn.execute_unprepared(sql).await,
            Reads::Sqlite(_) | Reads::Postgres(_) => {
                self.execute_raw(Statement::from_string(self.get_database_backend(), sql))
                    .await
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Reads::Pool(conn) => conn.query_one_raw(stmt).await,
            Reads::Sqlite(held) => Ok(held.fetch_optional(&stmt).await?.map(QueryResult::from)),
            Reads::Postgres(held) => Ok(held.fetch_optional(&stmt).await?.map(QueryResult::from)),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Reads::Pool(conn) => conn.query_all_raw(stmt).await,
            Reads::Sqlite(held) => Ok(held
                .fetch_all(&stmt)
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect()),
            Reads::Postgres(held) => Ok(held
                .fetch_all(&stmt)
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect()),
        }
    }
}
