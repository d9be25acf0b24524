//! Orders: placing one from a cart or an add-on purchase, listing and
//! cancelling them, expiring the unpaid ones, and confirming a payment with
//! its fulfilment — exactly once, in one transaction.

use crate::entity::{
    addon_claim, cart, counter, module, order, order_line, panel_user, payment, payment_event,
    service,
};
use crate::outbox::{NewEmail, enqueue_email};
use crate::service::parse_id;
use crate::{Database, StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{ModuleState, ServiceStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    AwaitingPayment,
    Paid,
    Fulfilled,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineRecord {
    pub item_id: Uuid,
    pub product_code: String,
    pub description: String,
    pub context: String,
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
    pub channel: String,
    pub status: OrderStatus,
    pub payment_method: String,
    pub activation_email: String,
    pub holder_json: String,
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
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The cart it comes from; it is checked out in the same transaction.
    pub cart_id: Option<Uuid>,
    pub channel: String,
    pub payment_method: String,
    pub activation_email: String,
    pub holder_json: String,
    pub holder_tax_id: String,
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
        context: row.context,
        unit_price_cents: row.unit_price_cents,
        quantity: u32::try_from(row.quantity).unwrap_or(0),
        years: u32::try_from(row.years).unwrap_or(0),
        days: row.days,
        ends_on: row.ends_on,
        net_cents: row.net_cents,
        vat_rate: row.vat_rate,
        vat_cents: row.vat_cents,
        total_cents: row.total_cents,
    })
}

fn to_order(row: order::Model, lines: Vec<order_line::Model>) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: parse_id(&row.id)?,
        customer_id: parse_id(&row.customer_id)?,
        cart_id: opt_id(row.cart_id.as_ref())?,
        service_id: opt_id(row.service_id.as_ref())?,
        status: OrderStatus::parse(&row.status)
            .ok_or_else(|| StoreError::Corrupt(format!("order status `{}`", row.status)))?,
        number: row.number,
        channel: row.channel,
        payment_method: row.payment_method,
        activation_email: row.activation_email,
        holder_json: row.holder_json,
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
    })
}

async fn load_order<C: ConnectionTrait>(conn: &C, id: &str) -> StoreResult<Option<OrderRecord>> {
    let Some(row) = order::Entity::find_by_id(id.to_owned()).one(conn).await? else {
        return Ok(None);
    };
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(id))
        .order_by_asc(order_line::Column::Position)
        .all(conn)
        .await?;
    to_order(row, lines).map(Some)
}

/// The next human order number, `ATV-<year>-<n>`, from the `order` counter
/// (the update locks the counter row until the transaction ends).
async fn next_number(tx: &DatabaseTransaction, year: i32) -> StoreResult<String> {
    counter::Entity::update_many()
        .col_expr(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(1),
        )
        .filter(counter::Column::Name.eq("order"))
        .exec(tx)
        .await?;
    let value = counter::Entity::find_by_id("order".to_owned())
        .one(tx)
        .await?
        .map_or(0, |c| c.value);
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

#[derive(Debug, Clone)]
pub struct PaymentInput {
    /// Provider events are de-duplicated by id.
    pub event_id: Option<String>,
    pub event_type: String,
    pub order_id: Uuid,
    pub amount_cents: i64,
    /// `webhook` or `operator`.
    pub source: String,
    pub reference: String,
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug)]
pub enum PaymentOutcome {
    /// Paid and fulfilled now.
    Fulfilled(OrderRecord),
    /// The event id was seen before: nothing changed.
    DuplicateEvent,
    /// Already paid (another event or an operator got there first).
    AlreadyPaid(OrderRecord),
    /// Flagged for review, not fulfilled: the amount differs from the total,
    /// or the holder got an FE meanwhile.
    AmountMismatch(OrderRecord),
    /// Cancelled or expired: not payable.
    NotPayable(OrderRecord),
    NotFound,
}

impl Database {
    /// Places an order: checks the cart out (if any), numbers the order,
    /// stores its lines and its add-on claims — one write transaction.
    pub async fn place_order(&self, new: &NewOrder) -> Result<OrderRecord, PlaceOrderError> {
        let now = Utc::now();
        let tx = self.begin_write().await?;
        if let Some(cart_id) = new.cart_id {
            let checked_out = cart::Entity::update_many()
                .col_expr(cart::Column::Status, Expr::value("checked_out"))
                .col_expr(
                    cart::Column::CustomerId,
                    Expr::value(new.customer_id.to_string()),
                )
                .col_expr(cart::Column::UpdatedAt, Expr::value(now))
                .filter(cart::Column::Id.eq(cart_id.to_string()))
                .filter(cart::Column::Status.eq("open"))
                .exec(&tx)
                .await?;
            if checked_out.rows_affected == 0 {
                return Err(PlaceOrderError::CartNotOpen);
            }
        }
        let number = next_number(
            &tx,
            now.date_naive()
                .format("%Y")
                .to_string()
                .parse()
                .unwrap_or(2026),
        )
        .await?;
        let id = new.id.to_string();
        order::ActiveModel {
            id: Set(id.clone()),
            number: Set(number),
            customer_id: Set(new.customer_id.to_string()),
            cart_id: Set(new.cart_id.map(|c| c.to_string())),
            kind: Set(if new.claims.is_empty() {
                "new"
            } else {
                "addon"
            }
            .to_owned()),
            channel: Set(new.channel.clone()),
            status: Set(OrderStatus::AwaitingPayment.as_str().to_owned()),
            payment_method: Set(new.payment_method.clone()),
            activation_email: Set(new.activation_email.clone()),
            holder_json: Set(new.holder_json.clone()),
            holder_tax_id: Set(new.holder_tax_id.clone()),
            target_service_id: Set(new.claims.first().map(|(s, _)| s.to_string())),
            net_cents: Set(new.net_cents),
            vat_cents: Set(new.vat_cents),
            total_cents: Set(new.total_cents),
            flagged_for_review: Set(false),
            review_reason: Set(None),
            service_id: Set(None),
            created_at: Set(now),
            expires_at: Set(new.expires_at),
            paid_at: Set(None),
            fulfilled_at: Set(None),
            cancelled_at: Set(None),
        }
        .insert(&tx)
        .await?;
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
                        context: Set(line.context.clone()),
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
            order_line::Entity::insert_many(lines).exec(&tx).await?;
        }
        for (service_id, product) in &new.claims {
            let claimed = addon_claim::ActiveModel {
                service_id: Set(service_id.to_string()),
                product_code: Set(product.clone()),
                order_id: Set(id.clone()),
                created_at: Set(now),
            }
            .insert(&tx)
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
        let order = load_order(&tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
        tx.commit().await?;
        Ok(order)
    }

    pub async fn find_order(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        load_order(self.conn(), &id.to_string()).await
    }

    /// The order that created a service (its activation email).
    pub async fn find_order_for_service(
        &self,
        service_id: Uuid,
    ) -> StoreResult<Option<OrderRecord>> {
        let Some(row) = order::Entity::find()
            .filter(order::Column::ServiceId.eq(service_id.to_string()))
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        load_order(self.conn(), &row.id).await
    }

    pub async fn find_order_by_number(&self, number: &str) -> StoreResult<Option<OrderRecord>> {
        let Some(row) = order::Entity::find()
            .filter(order::Column::Number.eq(number))
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        load_order(self.conn(), &row.id).await
    }

    /// A page of orders, newest first; `after` is the (created_at, id) of
    /// the last order of the previous page. `customer` None: every order.
    pub async fn list_orders(
        &self,
        customer: Option<Uuid>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<OrderRecord>> {
        let mut select = order::Entity::find();
        if let Some(customer) = customer {
            select = select.filter(order::Column::CustomerId.eq(customer.to_string()));
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
            .all(self.conn())
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids))
            .order_by_asc(order_line::Column::Position)
            .all(self.conn())
            .await?;
        rows.into_iter()
            .map(|row| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    lines.drain(..).partition(|l| l.order_id == row.id);
                lines = rest;
                to_order(row, mine)
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
        let tx = self.begin_write().await?;
        let changed = order::Entity::update_many()
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::Cancelled.as_str()),
            )
            .col_expr(order::Column::CancelledAt, Expr::value(now))
            .filter(order::Column::Id.eq(id.to_string()))
            .filter(order::Column::CustomerId.eq(customer.to_string()))
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
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
        let tx = self.begin_write().await?;
        let due: Vec<String> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
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
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::Expired.as_str()),
            )
            .filter(order::Column::Id.is_in(due.clone()))
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
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
            .all(self.conn())
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
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| {
                Ok(ModuleRecord {
                    service_id: parse_id(&m.service_id)?,
                    state: ModuleState::parse(&m.state).ok_or_else(|| {
                        StoreError::Corrupt(format!("module state `{}`", m.state))
                    })?,
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
            .one(self.conn())
            .await?;
        Ok(found.is_some())
    }

    /// Registers a payment and fulfils the order, exactly once: the event
    /// is recorded (a repeated id changes nothing), the order moves from
    /// `awaiting_payment` by a conditional update (a racing payment finds
    /// it moved), and the services, modules, panel user and emails of
    /// `fulfilment` are written in the same transaction.
    pub async fn confirm_payment(
        &self,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
    ) -> StoreResult<PaymentOutcome> {
        let now = Utc::now();
        let tx = self.begin_write().await?;
        let Some(current) = load_order(&tx, &input.order_id.to_string()).await? else {
            return Ok(PaymentOutcome::NotFound);
        };
        if let Some(event_id) = &input.event_id {
            let inserted = payment_event::ActiveModel {
                event_id: Set(event_id.clone()),
                order_number: Set(current.number.clone()),
                event_type: Set(input.event_type.clone()),
                outcome: Set("received".to_owned()),
                received_at: Set(now),
            }
            .insert(&tx)
            .await
            .map_err(StoreError::from);
            match inserted {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => return Ok(PaymentOutcome::DuplicateEvent),
                Err(error) => return Err(error),
            }
        }
        let outcome = self
            .apply_payment(&tx, current, input, fulfilment, now)
            .await?;
        if let Some(event_id) = &input.event_id {
            let label = match &outcome {
                PaymentOutcome::Fulfilled(_) => "fulfilled",
                PaymentOutcome::AlreadyPaid(_) => "already_paid",
                PaymentOutcome::AmountMismatch(_) => "amount_mismatch",
                PaymentOutcome::NotPayable(_) => "not_payable",
                PaymentOutcome::DuplicateEvent | PaymentOutcome::NotFound => "ignored",
            };
            payment_event::Entity::update_many()
                .col_expr(payment_event::Column::Outcome, Expr::value(label))
                .filter(payment_event::Column::EventId.eq(event_id.clone()))
                .exec(&tx)
                .await?;
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
        let inserted = payment_event::ActiveModel {
            event_id: Set(event_id.to_owned()),
            order_number: Set(order_number.to_owned()),
            event_type: Set(event_type.to_owned()),
            outcome: Set("recorded".to_owned()),
            received_at: Set(Utc::now()),
        }
        .insert(self.conn())
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn apply_payment(
        &self,
        tx: &DatabaseTransaction,
        current: OrderRecord,
        input: &PaymentInput,
        fulfilment: &Fulfilment,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentOutcome> {
        let id = current.id.to_string();
        match current.status {
            OrderStatus::AwaitingPayment => {}
            OrderStatus::Paid | OrderStatus::Fulfilled => {
                return Ok(PaymentOutcome::AlreadyPaid(current));
            }
            OrderStatus::Cancelled | OrderStatus::Expired => {
                return Ok(PaymentOutcome::NotPayable(current));
            }
        }
        if input.amount_cents != current.total_cents {
            return flag(
                tx,
                &id,
                format!(
                    "{} payment {} of {} cents differs from the total of {} cents",
                    input.source, input.reference, input.amount_cents, current.total_cents
                ),
            )
            .await;
        }
        if let Some(new) = &fulfilment.new_service {
            let taken = panel_user::Entity::find()
                .filter(panel_user::Column::Username.eq(new.username.clone()))
                .one(tx)
                .await?;
            if taken.is_some() {
                return flag(
                    tx,
                    &id,
                    format!(
                        "{} payment {}: the holder {} already has an FE; refund or reassign",
                        input.source, input.reference, current.holder_tax_id
                    ),
                )
                .await;
            }
        }
        let service_id = fulfilment
            .new_service
            .as_ref()
            .map(|s| s.service_id.to_string());
        let moved = order::Entity::update_many()
            .col_expr(
                order::Column::Status,
                Expr::value(OrderStatus::Fulfilled.as_str()),
            )
            .col_expr(order::Column::PaidAt, Expr::value(input.paid_at))
            .col_expr(order::Column::FulfilledAt, Expr::value(now))
            .col_expr(order::Column::FlaggedForReview, Expr::value(false))
            .col_expr(order::Column::ServiceId, Expr::value(service_id))
            .filter(order::Column::Id.eq(id.clone()))
            .filter(order::Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
            .exec(tx)
            .await?;
        if moved.rows_affected == 0 {
            let now_current = load_order(tx, &id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
            return Ok(PaymentOutcome::AlreadyPaid(now_current));
        }
        payment::ActiveModel {
            id: Set(Uuid::new_v4().to_string()),
            order_id: Set(id.clone()),
            source: Set(input.source.clone()),
            reference: Set(input.reference.clone()),
            amount_cents: Set(input.amount_cents),
            paid_at: Set(input.paid_at),
            created_at: Set(now),
        }
        .insert(tx)
        .await?;
        if let Some(new) = &fulfilment.new_service {
            service::ActiveModel {
                id: Set(new.service_id.to_string()),
                customer_id: Set(current.customer_id.to_string()),
                product_code: Set(new.product_code.clone()),
                status: Set(ServiceStatus::AwaitingConfiguration.as_str().to_owned()),
                holder_tax_id: Set(current.holder_tax_id.clone()),
                codice_destinatario: Set(new.codice_destinatario.clone()),
                expires_on: Set(new.expires_on),
                created_at: Set(now),
                updated_at: Set(now),
                matching_completed_at: Set(None),
            }
            .insert(tx)
            .await?;
            panel_user::ActiveModel {
                id: Set(new.panel_user_id.to_string()),
                service_id: Set(new.service_id.to_string()),
                username: Set(new.username.clone()),
                password_hash: Set(new.password_hash.clone()),
                must_change_password: Set(true),
                temporary_password_expires_at: Set(Some(new.temporary_password_expires_at)),
                credentials_version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(tx)
            .await?;
        }
        for (service_id, product, with_base) in &fulfilment.modules {
            module::ActiveModel {
                id: Set(Uuid::new_v4().to_string()),
                service_id: Set(service_id.to_string()),
                product_code: Set(product.clone()),
                state: Set(ModuleState::Purchased.as_str().to_owned()),
                bought_with_base: Set(*with_base),
                order_id: Set(id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(tx)
            .await?;
        }
        for (service_id, expires_on) in &fulfilment.extensions {
            service::Entity::update_many()
                .col_expr(service::Column::ExpiresOn, Expr::value(*expires_on))
                .col_expr(service::Column::UpdatedAt, Expr::value(now))
                .filter(service::Column::Id.eq(service_id.to_string()))
                .filter(service::Column::ExpiresOn.lt(*expires_on))
                .exec(tx)
                .await?;
        }
        addon_claim::Entity::delete_many()
            .filter(addon_claim::Column::OrderId.eq(id.clone()))
            .exec(tx)
            .await?;
        for email in &fulfilment.emails {
            enqueue_email(tx, email).await?;
        }
        let done = load_order(tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
        Ok(PaymentOutcome::Fulfilled(done))
    }
}

/// Flags an unpaid order for an operator's review; it is not fulfilled.
async fn flag(tx: &DatabaseTransaction, id: &str, reason: String) -> StoreResult<PaymentOutcome> {
    order::Entity::update_many()
        .col_expr(order::Column::FlaggedForReview, Expr::value(true))
        .col_expr(order::Column::ReviewReason, Expr::value(reason))
        .filter(order::Column::Id.eq(id))
        .exec(tx)
        .await?;
    let flagged = load_order(tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
    Ok(PaymentOutcome::AmountMismatch(flagged))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRecord {
    pub service_id: Uuid,
    pub product_code: String,
    pub state: ModuleState,
    pub bought_with_base: bool,
}
