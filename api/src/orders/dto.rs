//! Orders as the API shows them, to their customer and to operators: the
//! payments, services and panel areas answer with these too.

use crate::config::settings::OrderSettings;
use crate::shared::holder::HolderDto;
use crate::shared::money::cents_text;
use crate::shared::pricing::TotalsDto;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{OrderStatus, PaymentMethod};
use persistence::order::OrderRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodDto {
    Card,
    Paypal,
    BankTransfer,
    Bollettino,
}

impl From<PaymentMethodDto> for PaymentMethod {
    fn from(method: PaymentMethodDto) -> Self {
        match method {
            PaymentMethodDto::Card => PaymentMethod::Card,
            PaymentMethodDto::Paypal => PaymentMethod::Paypal,
            PaymentMethodDto::BankTransfer => PaymentMethod::BankTransfer,
            PaymentMethodDto::Bollettino => PaymentMethod::Bollettino,
        }
    }
}

impl From<PaymentMethod> for PaymentMethodDto {
    fn from(method: PaymentMethod) -> Self {
        match method {
            PaymentMethod::Card => PaymentMethodDto::Card,
            PaymentMethod::Paypal => PaymentMethodDto::Paypal,
            PaymentMethod::BankTransfer => PaymentMethodDto::BankTransfer,
            PaymentMethod::Bollettino => PaymentMethodDto::Bollettino,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineDto {
    pub item_id: Uuid,
    #[schema(example = "fe")]
    pub product_code: String,
    pub description: String,
    /// `base`, `with_new_base`, `on_existing_base`, `base_extension`.
    #[schema(example = "base")]
    pub context: String,
    #[schema(example = "25.00")]
    pub unit_price: String,
    pub quantity: u32,
    pub years: u32,
    #[schema(nullable)]
    pub days: Option<i64>,
    #[schema(nullable)]
    pub ends_on: Option<NaiveDate>,
    #[schema(example = "25.00")]
    pub net: String,
    #[schema(example = "22")]
    pub vat_rate: String,
    #[schema(example = "5.50")]
    pub vat: String,
    #[schema(example = "30.50")]
    pub total: String,
    /// The service an add-on is bought for.
    #[schema(nullable)]
    pub target_service_id: Option<Uuid>,
}

/// How to pay. Bank transfers: the IBAN and the causale (the order number).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentInstructionsDto {
    pub method: PaymentMethodDto,
    #[schema(example = "30.50")]
    pub amount: String,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(nullable, example = "IT60X0542811101000000123456")]
    pub iban: Option<String>,
    #[schema(nullable, example = "Attiva S.r.l.")]
    pub beneficiary: Option<String>,
    /// The payment reference to quote: the order number.
    #[schema(example = "ATV-2026-000001")]
    pub causale: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatusDto {
    AwaitingPayment,
    Paid,
    Fulfilled,
    Cancelled,
    Expired,
}

/// A payment received for the order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPaymentDto {
    #[schema(example = "30.50")]
    pub amount: String,
    #[schema(example = "EUR")]
    pub currency: String,
    /// `webhook` (the payment provider) or `operator` (a bank transfer or
    /// postal slip registered in the back office).
    #[schema(example = "webhook")]
    pub source: String,
    /// The provider's payment id, or the bank or postal reference.
    #[schema(example = "pi_3Q2w3E4r")]
    pub reference: String,
    /// When the money moved (a transfer's value date).
    pub paid_at: DateTime<Utc>,
    /// When it was registered.
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: Uuid,
    /// Human order number, also the bank-transfer causale.
    #[schema(example = "ATV-2026-000001")]
    pub number: String,
    pub status: OrderStatusDto,
    #[schema(example = "web")]
    pub channel: String,
    pub payment_method: PaymentMethodDto,
    pub activation_email: String,
    // The holder the order was placed for; documented as any value, as before.
    #[schema(value_type = serde_json::Value)]
    pub holder: HolderDto,
    pub lines: Vec<OrderLineDto>,
    pub totals: TotalsDto,
    pub payment_instructions: PaymentInstructionsDto,
    /// An operator will look at the order: a payment did not match the
    /// total, or the fulfilment of a payment failed. It stays set, whatever
    /// arrives later, until an operator clears it.
    pub flagged_for_review: bool,
    /// Why the order is flagged (back-office views only; null elsewhere).
    #[schema(nullable)]
    pub review_reason: Option<String>,
    /// Every payment received for the order, oldest first, whatever became
    /// of it.
    pub payments: Vec<OrderPaymentDto>,
    /// The sum of `payments`.
    #[schema(example = "30.50")]
    pub amount_received: String,
    /// The FE service the order created, once fulfilled.
    #[schema(nullable)]
    pub service_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Unpaid orders expire then.
    pub expires_at: DateTime<Utc>,
    #[schema(nullable)]
    pub paid_at: Option<DateTime<Utc>>,
    #[schema(nullable)]
    pub fulfilled_at: Option<DateTime<Utc>>,
    #[schema(nullable)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The order as the back office sees it: with the reason of its flag.
pub fn backoffice_order_dto(order: &OrderRecord, settings: &OrderSettings) -> OrderDto {
    OrderDto {
        review_reason: order.review_reason.clone(),
        ..order_dto(order, settings)
    }
}

/// The order as its customer sees it.
pub fn order_dto(order: &OrderRecord, settings: &OrderSettings) -> OrderDto {
    let payment_method = PaymentMethodDto::from(order.payment_method);
    let transfer = payment_method == PaymentMethodDto::BankTransfer;
    OrderDto {
        id: order.id,
        number: order.number.clone(),
        status: match order.status {
            OrderStatus::AwaitingPayment => OrderStatusDto::AwaitingPayment,
            OrderStatus::Paid => OrderStatusDto::Paid,
            OrderStatus::Fulfilled => OrderStatusDto::Fulfilled,
            OrderStatus::Cancelled => OrderStatusDto::Cancelled,
            OrderStatus::Expired => OrderStatusDto::Expired,
        },
        channel: order.channel.as_str().to_owned(),
        payment_method,
        activation_email: order.activation_email.clone(),
        holder: HolderDto::from_holder(&order.holder),
        lines: order
            .lines
            .iter()
            .map(|l| OrderLineDto {
                item_id: l.item_id,
                product_code: l.product_code.clone(),
                description: l.description.clone(),
                context: l.context.as_str().to_owned(),
                unit_price: cents_text(l.unit_price_cents),
                quantity: l.quantity,
                years: l.years,
                days: l.days,
                ends_on: l.ends_on,
                net: cents_text(l.net_cents),
                vat_rate: l.vat_rate.clone(),
                vat: cents_text(l.vat_cents),
                total: cents_text(l.total_cents),
                target_service_id: l.target_service_id,
            })
            .collect(),
        totals: TotalsDto {
            net: cents_text(order.net_cents),
            vat: cents_text(order.vat_cents),
            total: cents_text(order.total_cents),
            currency: "EUR".into(),
        },
        payment_instructions: PaymentInstructionsDto {
            method: payment_method,
            amount: cents_text(order.total_cents),
            currency: "EUR".into(),
            iban: transfer.then(|| settings.bank_iban.clone()),
            beneficiary: transfer.then(|| settings.bank_beneficiary.clone()),
            causale: order.number.clone(),
        },
        flagged_for_review: order.flagged_for_review,
        review_reason: None,
        payments: order
            .payments
            .iter()
            .map(|p| OrderPaymentDto {
                amount: cents_text(p.amount_cents),
                currency: "EUR".into(),
                source: p.source.as_str().to_owned(),
                reference: p.reference.clone(),
                paid_at: p.paid_at,
                received_at: p.received_at,
            })
            .collect(),
        amount_received: cents_text(order.received_cents()),
        service_id: order.service_id,
        created_at: order.created_at,
        expires_at: order.expires_at,
        paid_at: order.paid_at,
        fulfilled_at: order.fulfilled_at,
        cancelled_at: order.cancelled_at,
    }
}

pub fn cursor_of(order: &OrderRecord) -> String {
    crate::shared::pagination::cursor(order.created_at, order.id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(nullable)]
    pub next_cursor: Option<String>,
}

pub fn page(orders: Vec<OrderRecord>, limit: u64, settings: &OrderSettings) -> OrderPage {
    page_of(orders, limit, |o| order_dto(o, settings))
}

/// A page of orders as the back office sees them.
pub fn backoffice_page(
    orders: Vec<OrderRecord>,
    limit: u64,
    settings: &OrderSettings,
) -> OrderPage {
    page_of(orders, limit, |o| backoffice_order_dto(o, settings))
}

fn page_of(
    orders: Vec<OrderRecord>,
    limit: u64,
    dto: impl Fn(&OrderRecord) -> OrderDto,
) -> OrderPage {
    let next_cursor = (orders.len() as u64 == limit)
        .then(|| orders.last().map(cursor_of))
        .flatten();
    OrderPage {
        items: orders.iter().map(dto).collect(),
        next_cursor,
    }
}
