//! Idempotency keys: the first response to a (scope, key) is stored and
//! replayed; the same key with another body is refused; a key whose first
//! request is still running is reported as such, unless that request
//! started so long ago that it must have died with its server (the key is
//! then taken over, so a crash does not block the key for a day).

use crate::entity::idempotency_key;
use crate::{Database, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: the caller runs the request, then `finish_idempotent`.
    Started,
    /// Done before: replay this response.
    Replay { status: u16, body: String },
    /// The key was used with another request body.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// The idempotency keys of the store: `db.idempotency_keys()`.
#[derive(Clone, Copy)]
pub struct IdempotencyKeys<'a> {
    db: &'a Database,
}

impl Database {
    pub fn idempotency_keys(&self) -> IdempotencyKeys<'_> {
        IdempotencyKeys { db: self }
    }
}

impl IdempotencyKeys<'_> {
    /// Starts the request with `key` at `now`, or says why not. A request
    /// still marked in flight that started before `abandoned_before` never
    /// answered (its server stopped): this one takes the key over.
    pub async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> StoreResult<IdempotencyBegin> {
        // Usually the key is new: one insert. An expired use of the key
        // (replays last 24 h) is forgotten and the insert tried again.
        for _ in 0..2 {
            let inserted = idempotency_key::ActiveModel {
                id: Set(Uuid::new_v4().to_string()),
                scope: Set(scope.to_owned()),
                idem_key: Set(key.to_owned()),
                request_hash: Set(request_hash.to_owned()),
                status: Set("in_flight".to_owned()),
                response_status: Set(None),
                response_body: Set(None),
                created_at: Set(now),
                expires_at: Set(expires_at),
            };
            match idempotency_key::Entity::insert(inserted)
                .exec_without_returning(self.db.conn())
                .await
                .map_err(StoreError::from)
            {
                Ok(_) => return Ok(IdempotencyBegin::Started),
                Err(StoreError::Conflict(_)) => {}
                Err(error) => return Err(error),
            }
            let Some(existing) = idempotency_key::Entity::find()
                .filter(idempotency_key::Column::Scope.eq(scope))
                .filter(idempotency_key::Column::IdemKey.eq(key))
                .one(self.db.conn())
                .await?
            else {
                // Deleted meanwhile (the first attempt failed): treat as running.
                return Ok(IdempotencyBegin::InFlight);
            };
            if existing.expires_at < now {
                idempotency_key::Entity::delete_many()
                    .filter(idempotency_key::Column::Id.eq(existing.id))
                    .filter(idempotency_key::Column::ExpiresAt.lt(now))
                    .exec(self.db.conn())
                    .await?;
                continue;
            }
            if existing.request_hash != request_hash {
                return Ok(IdempotencyBegin::Mismatch);
            }
            if existing.status == "in_flight" && existing.created_at < abandoned_before {
                // Of two requests taking over at once, one moves the start
                // time past `abandoned_before`; the other then finds none.
                let taken = idempotency_key::Entity::update_many()
                    .col_expr(idempotency_key::Column::CreatedAt, Expr::value(now))
                    .filter(idempotency_key::Column::Id.eq(existing.id))
                    .filter(idempotency_key::Column::Status.eq("in_flight"))
                    .filter(idempotency_key::Column::CreatedAt.lt(abandoned_before))
                    .exec(self.db.conn())
                    .await?;
                return Ok(if taken.rows_affected == 1 {
                    IdempotencyBegin::Started
                } else {
                    IdempotencyBegin::InFlight
                });
            }
            return match (
                existing.status.as_str(),
                existing.response_status,
                existing.response_body,
            ) {
                ("done", Some(status), Some(body)) => Ok(IdempotencyBegin::Replay {
                    status: crate::in_range(status, "idempotent response status")?,
                    body,
                }),
                _ => Ok(IdempotencyBegin::InFlight),
            };
        }
        // Expired and replaced by another request between our two tries.
        Ok(IdempotencyBegin::InFlight)
    }

    /// Stores the response to replay.
    pub async fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> StoreResult<()> {
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::Status, Expr::value("done"))
            .col_expr(
                idempotency_key::Column::ResponseStatus,
                Expr::value(i32::from(status)),
            )
            .col_expr(
                idempotency_key::Column::ResponseBody,
                Expr::value(body.to_owned()),
            )
            .filter(idempotency_key::Column::Scope.eq(scope))
            .filter(idempotency_key::Column::IdemKey.eq(key))
            .exec(self.db.conn())
            .await?;
        Ok(())
    }

    /// Forgets a key whose request failed without a response worth
    /// replaying (a server error): the client may retry with it.
    pub async fn abandon_idempotent(&self, scope: &str, key: &str) -> StoreResult<()> {
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::Scope.eq(scope))
            .filter(idempotency_key::Column::IdemKey.eq(key))
            .filter(idempotency_key::Column::Status.eq("in_flight"))
            .exec(self.db.conn())
            .await?;
        Ok(())
    }
}
