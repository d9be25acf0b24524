//! Carts and their lines.

use crate::entity::{cart, cart_item};
use crate::{Database, StoreError, StoreResult, in_range, read_as, to_micros};
use chrono::{DateTime, Utc};
use domain::{CartLine, CartStatus, Channel};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

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
    /// The last change: the cart's own, or its newest line's.
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<CartLine>,
    /// Where the next line goes (positions are unique per cart).
    next_position: i32,
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
    #[error("the cart kept changing while the line was added")]
    Busy,
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
        years: row
            .years
            .map(|y| in_range(y, "cart line years"))
            .transpose()?,
        quantity: in_range(row.quantity, "cart line quantity")?,
        base_item_id: parse_opt_id(row.base_item_id.as_ref())?,
        target_service_id: parse_opt_id(row.target_service_id.as_ref())?,
        extend_base: row.extend_base,
    })
}

fn to_cart(row: cart::Model, items: Vec<cart_item::Model>) -> StoreResult<Cart> {
    let updated_at = items
        .iter()
        .map(|item| item.created_at)
        .fold(row.updated_at, DateTime::max);
    let next_position = items
        .iter()
        .map(|item| item.position + 1)
        .max()
        .unwrap_or(0);
    Ok(Cart {
        id: parse_id(&row.id)?,
        channel: read_as(&row.channel, "cart channel", Channel::parse)?,
        token_hash: row.token_hash,
        customer_id: parse_opt_id(row.customer_id.as_ref())?,
        status: read_as(&row.status, "cart status", CartStatus::parse)?,
        created_at: row.created_at,
        updated_at,
        lines: items.into_iter().map(to_line).collect::<StoreResult<_>>()?,
        next_position,
    })
}

/// The cart with its lines, in one query.
async fn load<C: ConnectionTrait>(conn: &C, id: Uuid) -> StoreResult<Option<Cart>> {
    cart::Entity::find_by_id(id.to_string())
        .find_with_related(cart_item::Entity)
        .order_by_asc(cart_item::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .next()
        .map(|(row, items)| to_cart(row, items))
        .transpose()
}

fn column(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The carts of the store: `db.carts()`.
#[derive(Clone, Copy)]
pub struct Carts<'a> {
    db: &'a Database,
}

impl Database {
    pub fn carts(&self) -> Carts<'_> {
        Carts { db: self }
    }
}

impl Carts<'_> {
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
        .insert(self.db.conn())
        .await?;
        to_cart(row, Vec::new())
    }

    pub async fn find_cart(&self, id: Uuid) -> StoreResult<Option<Cart>> {
        load(&self.db.reads(), id).await
    }

    /// Appends a line to `cart` (as just read) with one statement: the
    /// row is inserted only while the cart is still open, at the position
    /// after the last line read. A concurrent addition that took that
    /// position first makes this one read the cart again and retry (each
    /// lost race is another line added, so this ends); a
    /// concurrent checkout makes it fail with `NotOpen` (on PostgreSQL the
    /// statement holds the cart row `FOR SHARE`, so the two are ordered).
    /// Returns the cart with the new line.
    pub async fn add_cart_line(
        &self,
        mut cart: Cart,
        line: &CartLine,
        max_lines: usize,
    ) -> Result<Cart, CartChangeError> {
        // Each lost race is another addition that landed, so at most
        // `max_lines` of them can happen before the cart is full.
        for _ in 0..=max_lines {
            if !cart.status.accepts_changes() {
                return Err(CartChangeError::NotOpen);
            }
            if cart.lines.len() >= max_lines {
                return Err(CartChangeError::Full(max_lines));
            }
            let now = to_micros(Utc::now());
            match self.insert_line_if_open(&cart, line, now).await {
                Ok(true) => {
                    cart.lines.push(line.clone());
                    cart.next_position += 1;
                    cart.updated_at = cart.updated_at.max(now);
                    return Ok(cart);
                }
                Ok(false) => return Err(CartChangeError::NotOpen),
                Err(StoreError::Conflict(_)) => {}
                Err(error) => return Err(error.into()),
            }
            cart = load(&self.db.reads(), cart.id)
                .await?
                .ok_or(CartChangeError::CartNotFound)?;
        }
        Err(CartChangeError::Busy)
    }

    /// `INSERT INTO cart_items (…) SELECT <line> WHERE EXISTS (the cart,
    /// open)`: false when the cart is no longer open.
    async fn insert_line_if_open(
        &self,
        cart: &Cart,
        line: &CartLine,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        use sea_orm::sea_query::{Expr, Query};
        let mut open = Query::select();
        open.expr(Expr::val(1))
            .from(cart::Entity)
            .and_where(cart::Column::Id.eq(cart.id.to_string()))
            .and_where(cart::Column::Status.eq(CartStatus::Open.as_str()));
        if self.db.backend() == crate::Backend::Postgres {
            open.lock_shared();
        }
        let values: [Expr; 10] = [
            Expr::val(line.id.to_string()),
            Expr::val(cart.id.to_string()),
            Expr::val(cart.next_position),
            Expr::val(line.product_code.clone()),
            Expr::val(line.years.map(column)),
            Expr::val(column(line.quantity)),
            Expr::val(line.base_item_id.map(|id| id.to_string())),
            Expr::val(line.target_service_id.map(|id| id.to_string())),
            Expr::val(line.extend_base),
            Expr::val(now),
        ];
        let mut row = Query::select();
        row.exprs(values).and_where(Expr::exists(open));
        let mut insert = Query::insert();
        insert
            .into_table(cart_item::Entity)
            .columns([
                cart_item::Column::Id,
                cart_item::Column::CartId,
                cart_item::Column::Position,
                cart_item::Column::ProductCode,
                cart_item::Column::Years,
                cart_item::Column::Quantity,
                cart_item::Column::BaseItemId,
                cart_item::Column::TargetServiceId,
                cart_item::Column::ExtendBase,
                cart_item::Column::CreatedAt,
            ])
            .select_from(row)
            .map_err(|e| StoreError::Corrupt(format!("building the line insert: {e}")))?;
        let inserted = self.db.conn().execute(&insert).await?;
        Ok(inserted.rows_affected() == 1)
    }

    pub async fn remove_cart_line(
        &self,
        cart_id: Uuid,
        line_id: Uuid,
    ) -> Result<Cart, CartChangeError> {
        let tx = self.db.begin_write().await?;
        let cart_row = cart::Entity::find_by_id(cart_id.to_string())
            .one(&tx)
            .await?
            .ok_or(CartChangeError::CartNotFound)?;
        if !read_as(&cart_row.status, "cart status", CartStatus::parse)?.accepts_changes() {
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
