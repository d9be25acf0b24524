//! Several writes in one round trip on PostgreSQL.
//!
//! Each statement sent costs a round trip to the database. Writes that do
//! not depend on each other's results (the inserts that make up an order,
//! or a fulfilment) can travel together: on PostgreSQL they become one
//! statement, every write but the last a data-modifying `WITH` clause
//! (`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`). The statement is
//! atomic; foreign keys are checked at its end, so a row may reference one
//! inserted by a sibling clause; a unique violation anywhere fails it all.
//! On SQLite, where the database is in the process and a statement costs
//! no round trip, the writes simply run one after the other.
//!
//! Only for independent writes: the clauses of one PostgreSQL statement
//! share one snapshot and do not see each other's rows, and their order is
//! unspecified. Run the writes the batch depends on before it. Add them in
//! an order SQLite accepts (SQLite checks a foreign key at once: parents
//! first).

use crate::{Backend, StoreResult};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, DeleteStatement, InsertStatement, Query,
    SubQueryStatement, UpdateStatement, WithClause,
};
use sea_orm::{ConnectionTrait, QueryResult};

/// Independent writes, sent together (see the module documentation).
#[derive(Default)]
pub(crate) struct WriteBatch {
    writes: Vec<SubQueryStatement>,
    /// The write whose `RETURNING` rows [`WriteBatch::run`] returns.
    returning: Option<usize>,
}

impl WriteBatch {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, statement: InsertStatement) -> &mut Self {
        self.writes.push(statement.into());
        self
    }

    /// An insert with a `RETURNING` clause: `run` returns its rows.
    pub(crate) fn insert_returning(&mut self, statement: InsertStatement) -> &mut Self {
        self.returning = Some(self.writes.len());
        self.insert(statement)
    }

    pub(crate) fn update(&mut self, statement: UpdateStatement) -> &mut Self {
        self.writes.push(statement.into());
        self
    }

    /// An update with a `RETURNING` clause: `run` returns its rows (none
    /// when its condition matched nothing).
    pub(crate) fn update_returning(&mut self, statement: UpdateStatement) -> &mut Self {
        self.returning = Some(self.writes.len());
        self.update(statement)
    }

    pub(crate) fn delete(&mut self, statement: DeleteStatement) -> &mut Self {
        self.writes.push(statement.into());
        self
    }

    /// Runs the writes; the rows of the `…_returning` one, if any.
    pub(crate) async fn run<C: ConnectionTrait>(
        self,
        conn: &C,
        backend: Backend,
    ) -> StoreResult<Vec<QueryResult>> {
        if backend == Backend::Postgres && self.writes.len() > 1 {
            let mut with = WithClause::new();
            let mut writes = self.writes;
            // Without rows to return, the last write is the main statement.
            let last = match self.returning {
                Some(_) => None,
                None => writes.pop(),
            };
            for (index, write) in writes.into_iter().enumerate() {
                with.cte(
                    CommonTableExpression::new()
                        .query(write)
                        .table_name(clause(index))
                        .to_owned(),
                );
            }
            return Ok(match (last, self.returning) {
                (Some(last), _) => conn.query_all(&with.query(last)).await?,
                (None, Some(index)) => {
                    let mut rows = Query::select();
                    rows.column(Asterisk).from(clause(index));
                    conn.query_all(&with.query(rows)).await?
                }
                (None, None) => Vec::new(),
            });
        }
        let mut returned = Vec::new();
        for (index, write) in self.writes.into_iter().enumerate() {
            let rows = run_one(conn, write).await?;
            if self.returning == Some(index) {
                returned = rows;
            }
        }
        Ok(returned)
    }
}

fn clause(index: usize) -> Alias {
    Alias::new(format!("w{index}"))
}

/// One write, with whatever rows it returns (none without `RETURNING`).
async fn run_one<C: ConnectionTrait>(
    conn: &C,
    write: SubQueryStatement,
) -> StoreResult<Vec<QueryResult>> {
    Ok(match write {
        SubQueryStatement::InsertStatement(s) => conn.query_all(&s).await?,
        SubQueryStatement::UpdateStatement(s) => conn.query_all(&s).await?,
        SubQueryStatement::DeleteStatement(s) => conn.query_all(&s).await?,
        SubQueryStatement::SelectStatement(s) => conn.query_all(&s).await?,
        SubQueryStatement::WithStatement(s) => conn.query_all(&s).await?,
    })
}
