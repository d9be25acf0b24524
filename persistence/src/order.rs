//! Orders: placing one from a cart or an add-on purchase, listing and
//! cancelling them, expiring the unpaid ones, and confirming a payment with
//! its fulfilment — exactly once, in one transaction.

use crate::batch::WriteBatch;
use crate::entity::{
    addon_claim, cart, cart_item, counter, module, order, order_line, panel_user, payment,
    payment_event, payment_receipt, service,
};
use crate::outbox::{NewEmail, email_insert};
use crate::service::parse_id;
use crate::{Backend, Database, StoreError, StoreResult, in_range, read_as, to_micros};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::payment::{PayableOrder, PaymentDecision, ReceivedPayment, fulfilment_failed_reason};
use domain::{
    CartStatus, Channel, Holder, ModuleState, OrderStatus, OrderTransition, PaymentMethod,
    PaymentSource, PriceContext, ServiceStatus,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, NotSet, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set,
};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRecord {
    pub item_id: Uuid,
    pub product_code: String,
    pub description: String,
    pub context: PriceContext,
    pub unit_price_cents: i64,
    pub quantity: u32,
    pub years: u32,
    pub days: Option<i64>,
    pub ends_on: Option<NaiveDate>,
    pub net_cents: i64,
    pub vat_rate: String,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub base_item_id: Option<Uuid>,
    pub target_service_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: Uuid,
    pub number: String,
    pub customer_id: Uuid,
    pub cart_id: Option<Uuid>,
    pub channel: Channel,
    pub status: OrderStatus,
    pub payment_method: PaymentMethod,
    pub activation_email: String,
    /// The holder the order was placed for.
    pub holder: Holder,
    /// Its tax id (`Holder::tax_id`), the column orders are found by.
    pub holder_tax_id: String,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub flagged_for_review: bool,
    pub review_reason: Option<String>,
    pub service_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub lines: Vec<OrderLineRecord>,
    /// Every payment received for the order, oldest first, whatever its
    /// outcome (the one that paid it, short ones, one whose fulfilment
    /// failed).
    pub payments: Vec<PaymentReceiptRecord>,
}

impl OrderRecord {
    /// The sum of every payment received.
    pub fn received_cents(&self) -> i64 {
        self.payments.iter().map(|p| p.amount_cents).sum()
    }

    /// The order as the payment decision ([`domain::payment::decide`])
    /// needs it.
    pub fn payable(&self, holder_has_fe: bool) -> PayableOrder<'_> {
        PayableOrder {
            status: self.status,
            total_cents: self.total_cents,
            holder_tax_id: &self.holder_tax_id,
            holder_has_fe,
        }
    }
}

/// A payment received for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReceiptRecord {
    pub source: PaymentSource,
    pub reference: String,
    pub amount_cents: i64,
    /// When the money moved (an operator's value date, or on receipt).
    pub paid_at: DateTime<Utc>,
    /// When it was registered here.
    pub received_at: DateTime<Utc>,
}

fn to_receipt(row: payment_receipt::Model) -> StoreResult<PaymentReceiptRecord> {
    Ok(PaymentReceiptRecord {
        source: read_as(&row.source, "payment source", PaymentSource::parse)?,
        reference: row.reference,
        amount_cents: row.amount_cents,
        paid_at: row.paid_at,
        received_at: row.received_at,
    })
}

/// The receipts of these orders, oldest first.
async fn receipts_of<C: ConnectionTrait>(
    conn: &C,
    order_ids: Vec<String>,
) -> StoreResult<Vec<payment_receipt::Model>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(payment_receipt::Entity::find()
        .filter(payment_receipt::Column::OrderId.is_in(order_ids))
        .order_by_asc(payment_receipt::Column::ReceivedAt)
        .order_by_asc(payment_receipt::Column::Id)
        .all(conn)
        .await?)
}

/// The receipt of `input` (written with the decision it led to).
fn receipt_insert(
    order_id: &str,
    input: &PaymentInput,
    now: DateTime<Utc>,
) -> (sea_orm::sea_query::InsertStatement, PaymentReceiptRecord) {
    let record = PaymentReceiptRecord {
        source: input.source,
        reference: input.reference.clone(),
        amount_cents: input.amount_cents,
        paid_at: to_micros(input.paid_at),
        received_at: to_micros(now),
    };
    let insert = payment_receipt::Entity::insert(payment_receipt::ActiveModel {
        id: Set(Uuid::new_v4().to_string()),
        order_id: Set(order_id.to_owned()),
        source: Set(record.source.as_str().to_owned()),
        reference: Set(record.reference.clone()),
        amount_cents: Set(record.amount_cents),
        paid_at: Set(record.paid_at),
        received_at: Set(record.received_at),
    })
    .into_query();
    (insert, record)
}

/// Writes on a provider event what its payment came to.
async fn record_event_outcome(
    tx: &DatabaseTransaction,
    event_id: &str,
    outcome: &PaymentOutcome,
) -> StoreResult<()> {
    let label = match outcome {
        PaymentOutcome::Fulfilled(_) => "fulfilled",
        PaymentOutcome::AlreadyPaid(_) => "already_paid",
        PaymentOutcome::AmountDiffers(_) => "amount_mismatch",
        PaymentOutcome::HolderAlreadyHasFe(_) => "holder_already_has_fe",
        PaymentOutcome::NotPayable(_) => "not_payable",
        PaymentOutcome::FulfilmentFailed(_) => "fulfilment_failed",
        PaymentOutcome::DuplicateEvent | PaymentOutcome::NotFound => "ignored",
    };
    payment_event::Entity::update_many()
        .col_expr(payment_event::Column::Outcome, Expr::value(label))
        .filter(payment_event::Column::EventId.eq(event_id))
        .exec(tx)
        .await?;
    Ok(())
}

async fn record_receipt(
    tx: &DatabaseTransaction,
    order_id: &str,
    input: &PaymentInput,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (insert, _) = receipt_insert(order_id, input, now);
    tx.execute(&insert).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The cart it comes from; it is checked out in the same transaction.
    pub cart_id: Option<Uuid>,
    /// The cart's items the order was priced from. Should the cart hold
    /// others by the time it is checked out (an item added or removed
    /// meanwhile), nothing is written: [`PlaceOrderError::CartChanged`].
    pub cart_items: Vec<Uuid>,
    pub channel: Channel,
    pub payment_method: PaymentMethod,
    pub activation_email: String,
    /// The holder the order is placed for (its tax id is derived).
    pub holder: Holder,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<OrderLineRecord>,
    /// Add-ons bought for owned services: (service, product), one pending
    /// order each at most.
    pub claims: Vec<(Uuid, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error("the cart is no longer open")]
    CartNotOpen,
    #[error("the cart changed while it was checked out")]
    CartChanged,
    #[error("{product} is already in another unpaid order for service {service_id}")]
    AddonPending { service_id: Uuid, product: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for PlaceOrderError {
    fn from(error: sea_orm::DbErr) -> Self {
        PlaceOrderError::Store(error.into())
    }
}

fn cents_to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn opt_id(text: Option<&String>) -> StoreResult<Option<Uuid>> {
    text.map(|t| parse_id(t)).transpose()
}

fn to_line(row: order_line::Model) -> StoreResult<OrderLineRecord> {
    Ok(OrderLineRecord {
        item_id: parse_id(&row.item_id)?,
        base_item_id: opt_id(row.base_item_id.as_ref())?,
        target_service_id: opt_id(row.target_service_id.as_ref())?,
        product_code: row.product_code,
        description: row.description,
        context: read_as(&row.context, "order line context", PriceContext::parse)?,
        unit_price_cents: row.unit_price_cents,
        quantity: in_range(row.quantity, "order line quantity")?,
        years: in_range(row.years, "order line years")?,
        days: row.days,
        ends_on: row.ends_on,
        net_cents: row.net_cents,
        vat_rate: row.vat_rate,
        vat_cents: row.vat_cents,
        total_cents: row.total_cents,
    })
}

fn to_order(
    row: order::Model,
    lines: Vec<order_line::Model>,
    receipts: Vec<payment_receipt::Model>,
) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: parse_id(&row.id)?,
        customer_id: parse_id(&row.customer_id)?,
        cart_id: opt_id(row.cart_id.as_ref())?,
        service_id: opt_id(row.service_id.as_ref())?,
        status: read_as(&row.status, "order status", OrderStatus::parse)?,
        channel: read_as(&row.channel, "order channel", Channel::parse)?,
        payment_method: read_as(&row.payment_method, "payment method", PaymentMethod::parse)?,
        number: row.number,
        activation_email: row.activation_email,
        holder: crate::holder::from_json(&row.holder_json, &format!("order {}", row.id))?,
        holder_tax_id: row.holder_tax_id,
        net_cents: row.net_cents,
        vat_cents: row.vat_cents,
        total_cents: row.total_cents,
        flagged_for_review: row.flagged_for_review,
        review_reason: row.review_reason,
        created_at: row.created_at,
        expires_at: row.expires_at,
        paid_at: row.paid_at,
        fulfilled_at: row.fulfilled_at,
        cancelled_at: row.cancelled_at,
        lines: lines.into_iter().map(to_line).collect::<StoreResult<_>>()?,
        payments: receipts
            .into_iter()
            .map(to_receipt)
            .collect::<StoreResult<_>>()?,
    })
}

/// The order with its lines in one query, and its payments received.
async fn load_order<C: ConnectionTrait>(conn: &C, id: &str) -> StoreResult<Option<OrderRecord>> {
    load_order_where(conn, order::Column::Id.eq(id)).await
}

async fn load_order_where<C: ConnectionTrait>(
    conn: &C,
    condition: impl sea_orm::sea_query::IntoCondition,
) -> StoreResult<Option<OrderRecord>> {
    // The order, its lines and its receipts in one round trip: each row is
    // a (line, receipt) pair, so each line comes once per receipt; both
    // are few (a cart's lines, a payment or two).
    let rows = order::Entity::find()
        .filter(condition)
        .find_also_related(order_line::Entity)
        .find_also_related(payment_receipt::Entity)
        .order_by_asc(order_line::Column::Position)
        .order_by_asc(payment_receipt::Column::ReceivedAt)
        .order_by_asc(payment_receipt::Column::Id)
        .all(conn)
        .await?;
    let Some(row) = rows.first().map(|(row, _, _)| row.clone()) else {
        return Ok(None);
    };
    let mut lines: Vec<order_line::Model> = Vec::new();
    let mut receipts: Vec<payment_receipt::Model> = Vec::new();
    for (_, line, receipt) in rows {
        if let Some(line) = line
            && !lines.iter().any(|seen| seen.id == line.id)
        {
            lines.push(line);
        }
        if let Some(receipt) = receipt
            && !receipts.iter().any(|seen| seen.id == receipt.id)
        {
            receipts.push(receipt);
        }
    }
    // Rows come by line, then receipt: the receipts in their own order.
    receipts.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
    to_order(row, lines, receipts).map(Some)
}

/// The next human order number, `ATV-<year>-<n>`, from the `order` counter
/// in one statement (the update locks the counter row until the
/// transaction ends, so call it late in the transaction).
async fn next_number(tx: &DatabaseTransaction, year: i32) -> StoreResult<String> {
    use sea_orm::sea_query::Query;
    let mut update = Query::update();
    update
        .table(counter::Entity)
        .value(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(1),
        )
        .and_where(counter::Column::Name.eq("order"))
        .returning_col(counter::Column::Value);
    let value: i64 = match tx.query_one(&update).await? {
        Some(row) => row.try_get("", "value")?,
        None => return Err(StoreError::Corrupt("the order counter is missing".into())),
    };
    Ok(format!("ATV-{year}-{value:06}"))
}

/// A new FE service with its panel user, created at fulfilment.
#[derive(Debug, Clone)]
pub struct NewFulfilledService {
    pub service_id: Uuid,
    pub product_code: String,
    pub codice_destinatario: String,
    pub expires_on: NaiveDate,
    pub panel_user_id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub temporary_password_expires_at: DateTime<Utc>,
}

/// What paying an order creates; computed by the caller from the order
/// (password hashing stays outside the transaction).
#[derive(Debug, Clone, Default)]
pub struct Fulfilment {
    pub new_service: Option<NewFulfilledService>,
    /// (service, product, bought together with a new base).
    pub modules: Vec<(Uuid, String, bool)>,
    /// Owned services whose expiry moves (co-termination).
    pub extensions: Vec<(Uuid, NaiveDate)>,
    pub emails: Vec<NewEmail>,
}

impl Fulfilment {
    pub fn is_empty(&self) -> bool {
        self.new_service.is_none()
            && self.modules.is_empty()
            && self.extensions.is_empty()
            && self.emails.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct PaymentInput {
    /// Provider events are de-duplicated by id.
    pub event_id: Option<String>,
    pub event_type: String,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub source: PaymentSource,
    pub reference: String,
    pub paid_at: DateTime<Utc>,
}

impl PaymentInput {
    /// The payment as the decision ([`domain::payment::decide`]) needs it.
    pub fn received(&self) -> ReceivedPayment<'_> {
        ReceivedPayment {
            source: self.source,
            reference: &self.reference,
            amount_cents: self.amount_cents,
        }
    }
}

/// What a payment came to: the [`PaymentDecision`] carried out, with the
/// order as it now is.
#[derive(Debug)]
pub enum PaymentOutcome {
    /// Paid and fulfilled now.
    Fulfilled(OrderRecord),
    /// The event id was seen before: nothing changed.
    DuplicateEvent,
    /// Already paid (another event or an operator got there first).
    AlreadyPaid(OrderRecord),
    /// Flagged for review, not fulfilled: the amount differs from the total.
    AmountDiffers(OrderRecord),
    /// Flagged for review, not fulfilled: paid in full, but the holder
    /// already has an FE (one got paid meanwhile).
    HolderAlreadyHasFe(OrderRecord),
    /// Cancelled or expired: not payable (a provider's payment is kept on
    /// it, flagged for a refund).
    NotPayable(OrderRecord),
    /// Paid in full, but fulfilling it failed for a reason retrying will
    /// not cure: the payment is recorded, the order is `paid` and flagged
    /// for review with the reason, for an operator to retry or refund.
    FulfilmentFailed(OrderRecord),
    NotFound,
}

/// The orders of the store: `db.orders()`.
#[derive(Clone, Copy)]
pub struct Orders<'a> {
    db: &'a Database,
}

impl Database {
    pub fn orders(&self) -> Orders<'_> {
        Orders { db: self }
    }
}

impl Orders<'_> {
    /// Places an order: checks the cart out (if any), numbers the order,
    /// stores its lines and its add-on claims — one write transaction.
    pub async fn place_order(&self, new: &NewOrder) -> Result<OrderRecord, PlaceOrderError> {
        // Stored and returned at the precision both databases keep.
        let now = to_micros(Utc::now());
        let expires_at = to_micros(new.expires_at);
        let tx = self.db.begin_write().await?;
        if let Some(cart_id) = new.cart_id {
            // `CartStatus::check_out`, as one conditional update.
            let checked_out = cart::Entity::update_many()
                .col_expr(
                    cart::Column::Status,
                    Expr::value(CartStatus::CheckedOut.as_str()),
                )
                .col_expr(
                    cart::Column::CustomerId,
                    Expr::value(new.customer_id.to_string()),
                )
                .col_expr(cart::Column::UpdatedAt, Expr::value(now))
                .filter(cart::Column::Id.eq(cart_id.to_string()))
                .filter(cart::Column::Status.eq(CartStatus::Open.as_str()))
                .exec(&tx)
                .await?;
            if checked_out.rows_affected == 0 {
                return Err(PlaceOrderError::CartNotOpen);
            }
            // The cart row is now locked (PostgreSQL) or the database is
            // (SQLite): an addition still running has committed, a later
            // one finds the cart checked out. Its items now are final.
            let mut items: Vec<String> = cart_item::Entity::find()
                .select_only()
                .column(cart_item::Column::Id)
                .filter(cart_item::Column::CartId.eq(cart_id.to_string()))
                .into_tuple()
                .all(&tx)
                .await?;
            let mut priced: Vec<String> = new.cart_items.iter().map(Uuid::to_string).collect();
            items.sort_unstable();
            priced.sort_unstable();
            if items != priced {
                return Err(PlaceOrderError::CartChanged);
            }
        }
        // PostgreSQL numbers the order itself (the column's default, from a
        // sequence); SQLite takes the counter.
        let number = match self.db.backend() {
            Backend::Postgres => None,
            Backend::Sqlite => Some(next_number(&tx, now.year()).await?),
        };
        let id = new.id.to_string();
        let row = order::ActiveModel {
            id: Set(id.clone()),
            number: number.clone().map_or(NotSet, Set),
            customer_id: Set(new.customer_id.to_string()),
            cart_id: Set(new.cart_id.map(|c| c.to_string())),
            kind: Set(if new.claims.is_empty() {
                "new"
            } else {
                "addon"
            }
            .to_owned()),
            channel: Set(new.channel.as_str().to_owned()),
            status: Set(OrderStatus::AwaitingPayment.as_str().to_owned()),
            payment_method: Set(new.payment_method.as_str().to_owned()),
            activation_email: Set(new.activation_email.clone()),
            holder_json: Set(crate::holder::to_json(&new.holder)),
            holder_tax_id: Set(new.holder.tax_id().to_owned()),
            target_service_id: Set(new.claims.first().map(|(s, _)| s.to_string())),
            net_cents: Set(new.net_cents),
            vat_cents: Set(new.vat_cents),
            total_cents: Set(new.total_cents),
            flagged_for_review: Set(false),
            review_reason: Set(None),
            service_id: Set(None),
            created_at: Set(now),
            expires_at: Set(expires_at),
            paid_at: Set(None),
            fulfilled_at: Set(None),
            cancelled_at: Set(None),
        };
        // The order and its lines travel together (one statement on
        // PostgreSQL); the order's insert returns its number.
        let mut batch = WriteBatch::new();
        let mut insert_order = order::Entity::insert(row).into_query();
        insert_order.returning_col(order::Column::Number);
        batch.insert_returning(insert_order);
        if !new.lines.is_empty() {
            let lines =
                new.lines
                    .iter()
                    .enumerate()
                    .map(|(position, line)| order_line::ActiveModel {
                        id: Set(Uuid::new_v4().to_string()),
                        order_id: Set(id.clone()),
                        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                        item_id: Set(line.item_id.to_string()),
                        product_code: Set(line.product_code.clone()),
                        description: Set(line.description.clone()),
                        context: Set(line.context.as_str().to_owned()),
                        unit_price_cents: Set(line.unit_price_cents),
                        quantity: Set(cents_to_i32(line.quantity)),
                        years: Set(cents_to_i32(line.years)),
                        days: Set(line.days),
                        ends_on: Set(line.ends_on),
                        net_cents: Set(line.net_cents),
                        vat_rate: Set(line.vat_rate.clone()),
                        vat_cents: Set(line.vat_cents),
                        total_cents: Set(line.total_cents),
                        base_item_id: Set(line.base_item_id.map(|b| b.to_string())),
                        target_service_id: Set(line.target_service_id.map(|t| t.to_string())),
                    });
            batch.insert(order_line::Entity::insert_many(lines).into_query());
        }
        let returned = batch.run(&tx, self.db.backend()).await?;
        let number = match number {
            Some(number) => number,
            None => returned
                .first()
                .map(|row| row.try_get::<String>("", "number"))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt("the order insert returned no number".into()))?,
        };
        for (service_id, product) in &new.claims {
            let claimed = addon_claim::Entity::insert(addon_claim::ActiveModel {
                service_id: Set(service_id.to_string()),
                product_code: Set(product.clone()),
                order_id: Set(id.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&tx)
            .await;
            match claimed.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(PlaceOrderError::AddonPending {
                        service_id: *service_id,
                        product: product.clone(),
                    });
                }
                Err(error) => return Err(error.into()),
            }
        }
        tx.commit().await?;
        Ok(OrderRecord {
            id: new.id,
            number,
            customer_id: new.customer_id,
            cart_id: new.cart_id,
            channel: new.channel,
            status: OrderStatus::AwaitingPayment,
            payment_method: new.payment_method,
            activation_email: new.activation_email.clone(),
            holder: new.holder.clone(),
            holder_tax_id: new.holder.tax_id().to_owned(),
            net_cents: new.net_cents,
            vat_cents: new.vat_cents,
            total_cents: new.total_cents,
            flagged_for_review: false,
            review_reason: None,
            service_id: None,
            created_at: now,
            expires_at,
            paid_at: None,
            fulfilled_at: None,
            cancelled_at: None,
            lines: new.lines.clone(),
            payments: Vec::new(),
        })
    }

    pub async fn find_order(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        load_order(&self.db.reads(), &id.to_string()).await
    }

    /// The order that created a service (its activation email).
    pub async fn find_order_for_service(
        &self,
        service_id: Uuid,
    ) -> StoreResult<Option<OrderRecord>> {
        load_order_where(
            &self.db.reads(),
            order::Column::ServiceId.eq(service_id.to_string()),
        )
        .await
    }

    pub async fn find_order_by_number(&self, number: &str) -> StoreResult<Option<OrderRecord>> {
        load_order_where(&self.db.reads(), order::Column::Number.eq(number)).await
    }

    /// A page of orders, newest first; `after` is the (created_at, id) of
    /// the last order of the previous page. `customer` None: every order.
    pub async fn list_orders(
        &self,
        customer: Option<Uuid>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<OrderRecord>> {
        self.list_orders_where(customer, None, after, limit).await
    }

    /// [`Orders::list_orders`], of every customer, only the orders whose
    /// review flag is `flagged` (any when `None`).
    pub async fn list_orders_flagged(
        &self,
        flagged: Option<bool>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<OrderRecord>> {
        self.list_orders_where(None, flagged, after, limit).await
    }

    async fn list_orders_where(
        &self,
        customer: Option<Uuid>,
        flagged: Option<bool>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<OrderRecord>> {
        let mut select = order::Entity::find();
        if let Some(customer) = customer {
            select = select.filter(order::Column::CustomerId.eq(customer.to_string()));
        }
        if let Some(flagged) = flagged {
            select = select.filter(order::Column::FlaggedForReview.eq(flagged));
        }
        if let Some((created_at, id)) = after {
            select = select.filter(
                Condition::any()
                    .add(order::Column::CreatedAt.lt(created_at))
                    .add(
                        Condition::all()
                            .add(order::Column::CreatedAt.eq(created_at))
                            .add(order::Column::Id.lt(id.to_string())),
                    ),
            );
        }
        let rows = select
            .order_by_desc(order::Column::CreatedAt)
            .order_by_desc(order::Column::Id)
            .limit(limit)
            .all(self.db.conn())
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids.clone()))
            .order_by_asc(order_line::Column::Position)
            .all(self.db.conn())
            .await?;
        let mut receipts = receipts_of(self.db.conn(), ids).await?;
        rows.into_iter()
            .map(|row| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    lines.drain(..).partition(|l| l.order_id == row.id);
                lines = rest;
                let (paid, rest): (Vec<_>, Vec<_>) =
                    receipts.drain(..).partition(|r| r.order_id == row.id);
                receipts = rest;
                to_order(row, mine, paid)
            })
            .collect()
    }

    /// Cancels an unpaid order of `customer`; releases its add-on claims.
    /// `Ok(None)`: no such order of theirs.
    pub async fn cancel_order(
        &self,
        id: Uuid,
        customer: Uuid,
    ) -> StoreResult<Option<(bool, OrderRecord)>> {
        let now = Utc::now();
        let tx = self.db.begin_write().await?;
        let cancel = OrderTransition::Cancel;
        let changed = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(cancel.after().as_str()))
            .col_expr(order::Column::CancelledAt, Expr::value(now))
            .filter(order::Column::Id.eq(id.to_string()))
            .filter(order::Column::CustomerId.eq(customer.to_string()))
            .filter(order::Column::Status.eq(cancel.before().as_str()))
            .exec(&tx)
            .await?;
        if changed.rows_affected > 0 {
            addon_claim::Entity::delete_many()
                .filter(addon_claim::Column::OrderId.eq(id.to_string()))
                .exec(&tx)
                .await?;
        }
        let order = load_order(&tx, &id.to_string())
            .await?
            .filter(|o| o.customer_id == customer);
        tx.commit().await?;
        Ok(order.map(|o| (changed.rows_affected > 0, o)))
    }

    /// Expires unpaid orders past their date (flagged ones wait for an
    /// operator); releases their claims. Safe to run from several servers.
    pub async fn expire_orders(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let expire = OrderTransition::Expire;
        let tx = self.db.begin_write().await?;
        let due: Vec<String> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order::Column::Status.eq(expire.before().as_str()))
            .filter(order::Column::FlaggedForReview.eq(false))
            .filter(order::Column::ExpiresAt.lt(now))
            .limit(500)
            .into_tuple()
            .all(&tx)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let changed = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(expire.after().as_str()))
            .filter(order::Column::Id.is_in(due.clone()))
            .filter(order::Column::Status.eq(expire.before().as_str()))
            .exec(&tx)
            .await?;
        addon_claim::Entity::delete_many()
            .filter(addon_claim::Column::OrderId.is_in(due))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(changed.rows_affected)
    }

    /// Products waiting in unpaid orders, per service.
    pub async fn pending_addons(&self, services: &[Uuid]) -> StoreResult<Vec<(Uuid, String)>> {
        let ids: Vec<String> = services.iter().map(ToString::to_string).collect();
        addon_claim::Entity::find()
            .filter(addon_claim::Column::ServiceId.is_in(ids))
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(|c| Ok((parse_id(&c.service_id)?, c.product_code)))
            .collect()
    }

    /// Modules of the given services: (service, product, state, bought with base).
    pub async fn modules_of(&self, services: &[Uuid]) -> StoreResult<Vec<ModuleRecord>> {
        let ids: Vec<String> = services.iter().map(ToString::to_string).collect();
        module::Entity::find()
            .filter(module::Column::ServiceId.is_in(ids))
            .order_by_asc(module::Column::CreatedAt)
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(|m| {
                Ok(ModuleRecord {
                    service_id: parse_id(&m.service_id)?,
                    state: read_as(&m.state, "module state", ModuleState::parse)?,
                    product_code: m.product_code,
                    bought_with_base: m.bought_with_base,
                })
            })
            .collect()
    }

    /// True when a live base of this product (not cancelled or expired)
    /// exists for this tax id. Unpaid orders do not count (a buyer may try
    /// again); a second one paid is flagged for review at payment.
    pub async fn holder_has_base(&self, tax_id: &str, product_code: &str) -> StoreResult<bool> {
        let found = service::Entity::find()
            .filter(service::Column::HolderTaxId.eq(tax_id))
            .filter(service::Column::ProductCode.eq(product_code))
            .filter(service::Column::Status.is_not_in([
                ServiceStatus::Cancelled.as_str(),
                ServiceStatus::Expired.as_str(),
            ]))
            .one(&self.db.reads())
            .await?;
        Ok(found.is_some())
    }

    /// Registers a payment and fulfils the order, exactly once: the order
    /// moves from `awaiting_payment` by a conditional update (a racing
    /// payment finds it moved), the event is recorded (a repeated id
    /// changes nothing), and the services, modules, panel user and emails
    /// of `fulfilment` are written in the same transaction.
    ///
    /// `order` is the order as the caller read it and planned `fulfilment`
    /// from. When that plan still holds (the order is unpaid and the amount
    /// is its total), one transaction writes it all without reading
    /// anything; otherwise (or when the holder's panel username turns out
    /// to be taken) the careful path reads the order under lock and
    /// decides.
    pub async fn confirm_payment(
        &self,
        order: &OrderRecord,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
    ) -> StoreResult<PaymentOutcome> {
        if !fulfilment.is_empty()
            && let Some(outcome) = self.fulfil_as_planned(order, input, fulfilment).await?
        {
            return Ok(outcome);
        }
        self.confirm_payment_carefully(input, fulfilment).await
    }

    /// The common case in one transaction of writes only; `None` when the
    /// plan no longer holds (nothing is written then).
    async fn fulfil_as_planned(
        &self,
        order: &OrderRecord,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
    ) -> StoreResult<Option<PaymentOutcome>> {
        let now = to_micros(Utc::now());
        let paid_at = to_micros(input.paid_at);
        let id = order.id.to_string();
        let service_id = fulfilment.new_service.as_ref().map(|s| s.service_id);
        let pay = OrderTransition::Pay;
        let tx = self.db.begin_write().await?;
        // One statement on PostgreSQL: the event, everything the plan
        // creates, and the order's move with the decision `PaidInFull` as
        // its condition (still unpaid, and the amount is the total). The
        // move comes last, so SQLite, running them one by one, has the
        // parents first.
        let mut batch = WriteBatch::new();
        if let Some(event_id) = &input.event_id {
            // A repeated id fails the statement (unique): the careful path
            // tells it for a duplicate.
            batch.insert(event_insert(
                event_id,
                &order.number,
                input.event_type.as_str(),
                "fulfilled",
            ));
        }
        let receipt = fulfilment_writes(&mut batch, order, Some(input), fulfilment, now);
        let mut move_order = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(pay.after().as_str()))
            .col_expr(order::Column::PaidAt, Expr::value(paid_at))
            .col_expr(order::Column::FulfilledAt, Expr::value(now))
            .col_expr(
                order::Column::ServiceId,
                Expr::value(service_id.map(|s| s.to_string())),
            )
            .filter(order::Column::Id.eq(id.clone()))
            .filter(order::Column::Status.eq(pay.before().as_str()))
            .filter(order::Column::TotalCents.eq(input.amount_cents))
            .into_query();
        move_order.returning_col(order::Column::Id);
        batch.update_returning(move_order);
        match batch.run(&tx, self.db.backend()).await {
            // Moved: the plan held.
            Ok(moved) if !moved.is_empty() => {}
            // The order moved meanwhile (or the amount is not its total):
            // dropping the transaction undoes the rest.
            Ok(_) => return Ok(None),
            // A repeated event, or the holder's panel username is taken
            // (another FE paid meanwhile): the careful path decides.
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(error) => return Err(error),
        }
        tx.commit().await?;
        let mut payments = order.payments.clone();
        payments.extend(receipt);
        Ok(Some(PaymentOutcome::Fulfilled(OrderRecord {
            status: pay.after(),
            paid_at: Some(paid_at),
            fulfilled_at: Some(now),
            service_id,
            payments,
            ..order.clone()
        })))
    }

    /// Reads the order in a write transaction, gathers the facts and lets
    /// [`domain::payment::decide`] decide: a duplicate event, already paid,
    /// not payable, a different amount or a holder who has an FE (flagged),
    /// or paid in full (fulfilled).
    async fn confirm_payment_carefully(
        &self,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
    ) -> StoreResult<PaymentOutcome> {
        let now = Utc::now();
        let tx = self.db.begin_write().await?;
        let Some(current) = load_order(&tx, &input.order_id.to_string()).await? else {
            return Ok(PaymentOutcome::NotFound);
        };
        let seen = !record_input_event(&tx, input, &current.number, "received").await?;
        // A repeated event aborted the transaction on PostgreSQL: nothing
        // more is read then (it is a duplicate whatever the rest).
        let holder_has_fe = match &fulfilment.new_service {
            Some(new) if !seen => username_taken(&tx, &new.username).await?,
            _ => false,
        };
        let decision =
            domain::payment::decide(&current.payable(holder_has_fe), &input.received(), seen);
        if decision == PaymentDecision::Duplicate {
            return Ok(PaymentOutcome::DuplicateEvent);
        }
        let outcome = self
            .carry_out(&tx, decision, current, input, fulfilment, now)
            .await?;
        if let Some(event_id) = &input.event_id {
            record_event_outcome(&tx, event_id, &outcome).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Records a provider event that pays nothing (e.g. `payment.failed`);
    /// false when it was seen before.
    pub async fn record_payment_event(
        &self,
        event_id: &str,
        order_number: &str,
        event_type: &str,
    ) -> StoreResult<bool> {
        record_event(
            self.db.conn(),
            event_id,
            order_number,
            event_type,
            "recorded",
        )
        .await
    }

    /// After [`Orders::confirm_payment`] failed for a reason retrying
    /// will not cure (`reason`): records the payment anyway, so the money
    /// received is never lost nor the provider's event failed for ever.
    /// Paid in full, the order becomes `paid` (not fulfilled) and is
    /// flagged with the reason, for an operator to retry
    /// ([`Orders::retry_fulfilment`]) or refund. The decisions that need
    /// no fulfilment (a duplicate event, already paid, not payable, another
    /// amount) are the careful path's.
    pub async fn record_unfulfilled_payment(
        &self,
        input: &PaymentInput,
        reason: &str,
    ) -> StoreResult<PaymentOutcome> {
        let now = Utc::now();
        let tx = self.db.begin_write().await?;
        let Some(current) = load_order(&tx, &input.order_id.to_string()).await? else {
            return Ok(PaymentOutcome::NotFound);
        };
        let seen = !record_input_event(&tx, input, &current.number, "fulfilment_failed").await?;
        // No fulfilment is tried here, so no holder's FE is looked for.
        let decision = domain::payment::decide(&current.payable(false), &input.received(), seen);
        let id = current.id.to_string();
        let outcome = match decision {
            PaymentDecision::Duplicate => return Ok(PaymentOutcome::DuplicateEvent),
            PaymentDecision::PaidInFull => {
                let pay = OrderTransition::PayUnfulfilled;
                let moved = order::Entity::update_many()
                    .col_expr(order::Column::Status, Expr::value(pay.after().as_str()))
                    .col_expr(order::Column::PaidAt, Expr::value(to_micros(input.paid_at)))
                    .filter(order::Column::Id.eq(id.clone()))
                    .filter(order::Column::Status.eq(pay.before().as_str()))
                    .exec(&tx)
                    .await?;
                if moved.rows_affected == 0 {
                    return Err(StoreError::Corrupt(
                        "an order read under the write lock moved".into(),
                    ));
                }
                let mut batch = WriteBatch::new();
                batch.insert(payment_insert(&id, input, now));
                batch.insert(receipt_insert(&id, input, now).0);
                batch.run(&tx, self.db.backend()).await?;
                let reason = fulfilment_failed_reason(&input.received(), reason);
                PaymentOutcome::FulfilmentFailed(flag(&tx, &id, reason).await?)
            }
            decision => {
                self.carry_out(&tx, decision, current, input, &Fulfilment::default(), now)
                    .await?
            }
        };
        if let Some(event_id) = &input.event_id {
            record_event_outcome(&tx, event_id, &outcome).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Fulfils a `paid` order again (its payment recorded when the first
    /// fulfilment failed): `Ok(None)` when it is not `paid` (never paid,
    /// already fulfilled, or fulfilled by a racing retry). The review flag
    /// stays.
    pub async fn retry_fulfilment(
        &self,
        order: &OrderRecord,
        fulfilment: &Fulfilment,
    ) -> StoreResult<Option<OrderRecord>> {
        let now = to_micros(Utc::now());
        let id = order.id.to_string();
        let service_id = fulfilment
            .new_service
            .as_ref()
            .map(|s| s.service_id.to_string());
        let fulfil = OrderTransition::Fulfil;
        let tx = self.db.begin_write().await?;
        let moved = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(fulfil.after().as_str()))
            .col_expr(order::Column::FulfilledAt, Expr::value(now))
            .col_expr(order::Column::ServiceId, Expr::value(service_id))
            .filter(order::Column::Id.eq(id.clone()))
            .filter(order::Column::Status.eq(fulfil.before().as_str()))
            .exec(&tx)
            .await?;
        if moved.rows_affected == 0 {
            return Ok(None);
        }
        write_fulfilment(&tx, self.db.backend(), order, None, fulfilment, now).await?;
        let done = load_order(&tx, &id).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Flags an order for review with `reason`; `Ok(None)`: no such order.
    pub async fn flag_order(&self, id: Uuid, reason: &str) -> StoreResult<Option<OrderRecord>> {
        let tx = self.db.begin_write().await?;
        if load_order(&tx, &id.to_string()).await?.is_none() {
            return Ok(None);
        }
        let flagged = flag(&tx, &id.to_string(), reason.to_owned()).await?;
        tx.commit().await?;
        Ok(Some(flagged))
    }

    /// Clears an order's review flag and reason (an operator has dealt
    /// with it); `Ok(None)`: no such order.
    pub async fn clear_review(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        let tx = self.db.begin_write().await?;
        order::Entity::update_many()
            .col_expr(order::Column::FlaggedForReview, Expr::value(false))
            .col_expr(
                order::Column::ReviewReason,
                Expr::value(Option::<String>::None),
            )
            .filter(order::Column::Id.eq(id.to_string()))
            .exec(&tx)
            .await?;
        let cleared = load_order(&tx, &id.to_string()).await?;
        tx.commit().await?;
        Ok(cleared)
    }

    /// Carries out `decision` on `current` (read in `tx`). Every decision
    /// that flags the order keeps the payment on it (a receipt); the others
    /// record nothing, but paying in full, which writes the payment with
    /// the fulfilment.
    async fn carry_out(
        &self,
        tx: &DatabaseTransaction,
        decision: PaymentDecision,
        current: OrderRecord,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentOutcome> {
        let outcome: fn(OrderRecord) -> PaymentOutcome = match decision {
            PaymentDecision::Duplicate => return Ok(PaymentOutcome::DuplicateEvent),
            PaymentDecision::AlreadyPaid => return Ok(PaymentOutcome::AlreadyPaid(current)),
            PaymentDecision::PaidInFull => {
                return self
                    .pay_and_fulfil(tx, current, input, fulfilment, now)
                    .await;
            }
            PaymentDecision::NotPayable { .. } => PaymentOutcome::NotPayable,
            PaymentDecision::AmountDiffers { .. } => PaymentOutcome::AmountDiffers,
            PaymentDecision::HolderAlreadyHasFe => PaymentOutcome::HolderAlreadyHasFe,
        };
        match decision.review_reason(&input.received(), &current.holder_tax_id) {
            Some(reason) => {
                let id = current.id.to_string();
                record_receipt(tx, &id, input, now).await?;
                flag(tx, &id, reason).await.map(outcome)
            }
            None => Ok(outcome(current)),
        }
    }

    /// Pays `current` (unpaid, paid in full) and writes its fulfilment; a
    /// racing payment that moved it first makes it [`PaymentOutcome::AlreadyPaid`].
    async fn pay_and_fulfil(
        &self,
        tx: &DatabaseTransaction,
        current: OrderRecord,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentOutcome> {
        let id = current.id.to_string();
        let pay = OrderTransition::Pay;
        let service_id = fulfilment
            .new_service
            .as_ref()
            .map(|s| s.service_id.to_string());
        let moved = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(pay.after().as_str()))
            .col_expr(order::Column::PaidAt, Expr::value(input.paid_at))
            .col_expr(order::Column::FulfilledAt, Expr::value(now))
            .col_expr(order::Column::ServiceId, Expr::value(service_id))
            .filter(order::Column::Id.eq(id.clone()))
            .filter(order::Column::Status.eq(pay.before().as_str()))
            .exec(tx)
            .await?;
        if moved.rows_affected == 0 {
            let now_current = load_order(tx, &id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
            return Ok(PaymentOutcome::AlreadyPaid(now_current));
        }
        write_fulfilment(
            tx,
            self.db.backend(),
            &current,
            Some(input),
            fulfilment,
            now,
        )
        .await?;
        let done = load_order(tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
        Ok(PaymentOutcome::Fulfilled(done))
    }
}

/// Writes what paying `order` creates (the order itself has been moved to
/// `fulfilled` by the caller): the payment with its receipt (`None` when it
/// was recorded before, on a retried fulfilment), the new service with its
/// panel user, the modules, the co-terminated expiries, the released add-on
/// claims and the queued emails. A taken panel username is
/// [`StoreError::Conflict`]. Returns the receipt written.
async fn write_fulfilment(
    tx: &DatabaseTransaction,
    backend: Backend,
    order: &OrderRecord,
    input: Option<&PaymentInput>,
    fulfilment: &Fulfilment,
    now: DateTime<Utc>,
) -> StoreResult<Option<PaymentReceiptRecord>> {
    let mut batch = WriteBatch::new();
    let receipt = fulfilment_writes(&mut batch, order, input, fulfilment, now);
    batch.run(tx, backend).await?;
    Ok(receipt)
}

/// Adds to `batch` what paying `order` with `input` (if any) and carrying
/// out `fulfilment` writes; none of these writes reads another's. The
/// receipt they record, if any.
fn fulfilment_writes(
    batch: &mut WriteBatch,
    order: &OrderRecord,
    input: Option<&PaymentInput>,
    fulfilment: &Fulfilment,
    now: DateTime<Utc>,
) -> Option<PaymentReceiptRecord> {
    let id = order.id.to_string();
    let mut receipt = None;
    if let Some(input) = input {
        batch.insert(payment_insert(&id, input, now));
        let (insert, record) = receipt_insert(&id, input, now);
        batch.insert(insert);
        receipt = Some(record);
    }
    if let Some(new) = &fulfilment.new_service {
        batch.insert(
            service::Entity::insert(service::ActiveModel {
                id: Set(new.service_id.to_string()),
                customer_id: Set(order.customer_id.to_string()),
                product_code: Set(new.product_code.clone()),
                status: Set(ServiceStatus::AwaitingConfiguration.as_str().to_owned()),
                holder_tax_id: Set(order.holder_tax_id.clone()),
                codice_destinatario: Set(new.codice_destinatario.clone()),
                expires_on: Set(new.expires_on),
                created_at: Set(now),
                updated_at: Set(now),
                matching_completed_at: Set(None),
            })
            .into_query(),
        );
        batch.insert(
            panel_user::Entity::insert(panel_user::ActiveModel {
                id: Set(new.panel_user_id.to_string()),
                service_id: Set(new.service_id.to_string()),
                username: Set(new.username.clone()),
                password_hash: Set(new.password_hash.clone()),
                must_change_password: Set(true),
                temporary_password_expires_at: Set(Some(new.temporary_password_expires_at)),
                credentials_version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .into_query(),
        );
    }
    if !fulfilment.modules.is_empty() {
        let modules = fulfilment
            .modules
            .iter()
            .map(|(service_id, product, with_base)| module::ActiveModel {
                id: Set(Uuid::new_v4().to_string()),
                service_id: Set(service_id.to_string()),
                product_code: Set(product.clone()),
                state: Set(ModuleState::Purchased.as_str().to_owned()),
                bought_with_base: Set(*with_base),
                order_id: Set(id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            });
        batch.insert(module::Entity::insert_many(modules).into_query());
    }
    // One update per service (a statement must not update a row twice).
    let mut extensions = std::collections::BTreeMap::new();
    for (service_id, expires_on) in &fulfilment.extensions {
        let latest = extensions.entry(*service_id).or_insert(*expires_on);
        *latest = Ord::max(*latest, *expires_on);
    }
    for (service_id, expires_on) in &extensions {
        batch.update(
            service::Entity::update_many()
                .col_expr(service::Column::ExpiresOn, Expr::value(*expires_on))
                .col_expr(service::Column::UpdatedAt, Expr::value(now))
                .filter(service::Column::Id.eq(service_id.to_string()))
                .filter(service::Column::ExpiresOn.lt(*expires_on))
                .into_query(),
        );
    }
    // Claims exist for add-ons bought for owned services only.
    if order.lines.iter().any(|l| l.target_service_id.is_some()) {
        batch.delete(
            addon_claim::Entity::delete_many()
                .filter(addon_claim::Column::OrderId.eq(id.clone()))
                .into_query(),
        );
    }
    for email in &fulfilment.emails {
        batch.insert(email_insert(email));
    }
    receipt
}

/// The payment that paid the order (one per order).
fn payment_insert(
    order_id: &str,
    input: &PaymentInput,
    now: DateTime<Utc>,
) -> sea_orm::sea_query::InsertStatement {
    payment::Entity::insert(payment::ActiveModel {
        id: Set(Uuid::new_v4().to_string()),
        order_id: Set(order_id.to_owned()),
        source: Set(input.source.as_str().to_owned()),
        reference: Set(input.reference.clone()),
        amount_cents: Set(input.amount_cents),
        paid_at: Set(to_micros(input.paid_at)),
        created_at: Set(now),
    })
    .into_query()
}

/// Records a provider event with its outcome; false when its id was seen
/// before (a unique violation: on PostgreSQL the transaction, if any, can
/// then only be rolled back).
async fn record_event<C: ConnectionTrait>(
    conn: &C,
    event_id: &str,
    order_number: &str,
    event_type: &str,
    outcome: &str,
) -> StoreResult<bool> {
    let inserted = conn
        .execute(&event_insert(event_id, order_number, event_type, outcome))
        .await
        .map_err(StoreError::from);
    match inserted {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The row of a provider event received now.
fn event_insert(
    event_id: &str,
    order_number: &str,
    event_type: &str,
    outcome: &str,
) -> sea_orm::sea_query::InsertStatement {
    payment_event::Entity::insert(payment_event::ActiveModel {
        event_id: Set(event_id.to_owned()),
        order_number: Set(order_number.to_owned()),
        event_type: Set(event_type.to_owned()),
        outcome: Set(outcome.to_owned()),
        received_at: Set(Utc::now()),
    })
    .into_query()
}

/// Records the provider event of `input`, if it has one, with `outcome`;
/// false when its id was seen before.
async fn record_input_event(
    tx: &DatabaseTransaction,
    input: &PaymentInput,
    order_number: &str,
    outcome: &str,
) -> StoreResult<bool> {
    match &input.event_id {
        Some(event_id) => {
            record_event(tx, event_id, order_number, &input.event_type, outcome).await
        }
        None => Ok(true),
    }
}

/// Whether a panel user of this name exists (one per holder: the holder
/// already has an FE).
async fn username_taken(tx: &DatabaseTransaction, username: &str) -> StoreResult<bool> {
    let taken = panel_user::Entity::find()
        .filter(panel_user::Column::Username.eq(username))
        .one(tx)
        .await?;
    Ok(taken.is_some())
}

/// Flags an order for an operator's review, with the reason (the latest
/// replaces an earlier one); the flag stays until an operator clears it.
async fn flag(tx: &DatabaseTransaction, id: &str, reason: String) -> StoreResult<OrderRecord> {
    order::Entity::update_many()
        .col_expr(order::Column::FlaggedForReview, Expr::value(true))
        .col_expr(order::Column::ReviewReason, Expr::value(reason))
        .filter(order::Column::Id.eq(id))
        .exec(tx)
        .await?;
    load_order(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("order vanished".into()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRecord {
    pub service_id: Uuid,
    pub product_code: String,
    pub state: ModuleState,
    pub bought_with_base: bool,
}
