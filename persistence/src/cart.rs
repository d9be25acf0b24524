//! Carts and their lines.

use crate::entity::{cart, cart_item};
use crate::{Database, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use domain::{CartLine, Channel};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Open,
    CheckedOut,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut => "checked_out",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [CartStatus::Open, CartStatus::CheckedOut]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct Cart {
    pub id: Uuid,
    pub channel: Channel,
    /// SHA-256 (hex) of the anonymous cart token; the token itself is
    /// never stored.
    pub token_hash: String,
    pub customer_id: Option<Uuid>,
    pub status: CartStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<CartLine>,
}

#[derive(Debug, Clone)]
pub struct NewCart {
    pub id: Uuid,
    pub channel: Channel,
    pub token_hash: String,
    pub customer_id: Option<Uuid>,
}

/// Why a line could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum CartChangeError {
    #[error("no such cart")]
    CartNotFound,
    #[error("the cart is no longer open")]
    NotOpen,
    #[error("the cart already holds {0} lines")]
    Full(usize),
    #[error("no such line in this cart")]
    LineNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for CartChangeError {
    fn from(error: sea_orm::DbErr) -> Self {
        CartChangeError::Store(error.into())
    }
}

fn parse_id(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("bad uuid `{text}`")))
}

fn parse_opt_id(text: Option<&String>) -> StoreResult<Option<Uuid>> {
    text.map(|t| parse_id(t)).transpose()
}

fn to_line(row: cart_item::Model) -> StoreResult<CartLine> {
    Ok(CartLine {
        id: parse_id(&row.id)?,
        product_code: row.product_code,
        years: row.years.map(|y| u32::try_from(y).unwrap_or(0)),
        quantity: u32::try_from(row.quantity).unwrap_or(0),
        base_item_id: parse_opt_id(row.base_item_id.as_ref())?,
        target_service_id: parse_opt_id(row.target_service_id.as_ref())?,
        extend_base: row.extend_base,
    })
}

fn to_cart(row: cart::Model, items: Vec<cart_item::Model>) -> StoreResult<Cart> {
    Ok(Cart {
        id: parse_id(&row.id)?,
        channel: Channel::parse(&row.channel)
            .ok_or_else(|| StoreError::Corrupt(format!("channel `{}`", row.channel)))?,
        token_hash: row.token_hash,
        customer_id: parse_opt_id(row.customer_id.as_ref())?,
        status: CartStatus::parse(&row.status)
            .ok_or_else(|| StoreError::Corrupt(format!("cart status `{}`", row.status)))?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        lines: items.into_iter().map(to_line).collect::<StoreResult<_>>()?,
    })
}

async fn load<C: ConnectionTrait>(conn: &C, id: Uuid) -> StoreResult<Option<Cart>> {
    let Some(row) = cart::Entity::find_by_id(id.to_string()).one(conn).await? else {
        return Ok(None);
    };
    let items = cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(id.to_string()))
        .order_by_asc(cart_item::Column::Position)
        .all(conn)
        .await?;
    to_cart(row, items).map(Some)
}

fn column(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl Database {
    pub async fn create_cart(&self, new: &NewCart) -> StoreResult<Cart> {
        let now = Utc::now();
        let row = cart::ActiveModel {
            id: Set(new.id.to_string()),
            channel: Set(new.channel.as_str().to_owned()),
            token_hash: Set(new.token_hash.clone()),
            customer_id: Set(new.customer_id.map(|id| id.to_string())),
            status: Set(CartStatus::Open.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.conn())
        .await?;
        to_cart(row, Vec::new())
    }

    pub async fn find_cart(&self, id: Uuid) -> StoreResult<Option<Cart>> {
        load(self.conn(), id).await
    }

    /// Appends a line, in one write transaction: the cart must be open and
    /// hold fewer than `max_lines`.
    pub async fn add_cart_line(
        &self,
        cart_id: Uuid,
        line: &CartLine,
        max_lines: usize,
    ) -> Result<Cart, CartChangeError> {
        let tx = self.begin_write().await?;
        let mut select = cart::Entity::find_by_id(cart_id.to_string());
        if self.backend() == crate::Backend::Postgres {
            select = select.lock_exclusive();
        }
        let cart_row = select
            .one(&tx)
            .await?
            .ok_or(CartChangeError::CartNotFound)?;
        if cart_row.status != CartStatus::Open.as_str() {
            return Err(CartChangeError::NotOpen);
        }
        let positions: Vec<i32> = cart_item::Entity::find()
            .select_only()
            .column(cart_item::Column::Position)
            .filter(cart_item::Column::CartId.eq(cart_id.to_string()))
            .into_tuple()
            .all(&tx)
            .await?;
        if positions.len() >= max_lines {
            return Err(CartChangeError::Full(positions.len()));
        }
        let now = Utc::now();
        let position = positions.iter().max().map_or(0, |p| p + 1);
        cart_item::ActiveModel {
            id: Set(line.id.to_string()),
            cart_id: Set(cart_id.to_string()),
            position: Set(position),
            product_code: Set(line.product_code.clone()),
            years: Set(line.years.map(column)),
            quantity: Set(column(line.quantity)),
            base_item_id: Set(line.base_item_id.map(|id| id.to_string())),
            target_service_id: Set(line.target_service_id.map(|id| id.to_string())),
            extend_base: Set(line.extend_base),
            created_at: Set(now),
        }
        .insert(&tx)
        .await?;
        touch(&tx, cart_row, now).await?;
        let cart = load(&tx, cart_id)
            .await?
            .ok_or(CartChangeError::CartNotFound)?;
        tx.commit().await?;
        Ok(cart)
    }

    pub async fn remove_cart_line(
        &self,
        cart_id: Uuid,
        line_id: Uuid,
    ) -> Result<Cart, CartChangeError> {
        let tx = self.begin_write().await?;
        let cart_row = cart::Entity::find_by_id(cart_id.to_string())
            .one(&tx)
            .await?
            .ok_or(CartChangeError::CartNotFound)?;
        if cart_row.status != CartStatus::Open.as_str() {
            return Err(CartChangeError::NotOpen);
        }
        let deleted = cart_item::Entity::delete_many()
            .filter(cart_item::Column::CartId.eq(cart_id.to_string()))
            .filter(cart_item::Column::Id.eq(line_id.to_string()))
            .exec(&tx)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(CartChangeError::LineNotFound);
        }
        touch(&tx, cart_row, Utc::now()).await?;
        let cart = load(&tx, cart_id)
            .await?
            .ok_or(CartChangeError::CartNotFound)?;
        tx.commit().await?;
        Ok(cart)
    }
}

async fn touch<C: ConnectionTrait>(
    conn: &C,
    row: cart::Model,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut active: cart::ActiveModel = row.into();
    active.updated_at = Set(now);
    active.update(conn).await?;
    Ok(())
}
