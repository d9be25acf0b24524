//! Checkout and orders: `POST /v1/carts/{id}/checkout`, `GET /v1/orders`,
//! `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`.

use crate::auth::CustomerAuth;
use crate::idempotency;
use crate::json::{Json, Validate};
use crate::money::cents_text;
use crate::problem::{ApiError, FieldError, Problem};
use crate::purchase::{CART_CHANGED, OrderRequest, place_order};
use crate::query::{Query, QueryParams};
use crate::routes::carts::CART_TOKEN;
use crate::routes::carts::TotalsDto;
use crate::routes::catalog::CatalogView;
use crate::routes::identity::{HolderDto, email_error};
use crate::settings::OrderSettings;
use crate::state::Limits;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{Holder, OrderStatus, PaymentMethod};
use persistence::Database;
use persistence::cart::Cart;
use persistence::order::OrderRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub const TAG: &str = "orders";

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

/// Body of `POST /v1/carts/{id}/checkout`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "payment_method": "card",
    "accept_terms": true,
    "activation_email": "amministrazione@alfa.example",
}))]
pub struct CheckoutRequest {
    pub payment_method: PaymentMethodDto,
    /// Must be true.
    pub accept_terms: bool,
    /// Receives the activation email with the panel credentials.
    #[schema(example = "amministrazione@alfa.example", max_length = 254)]
    pub activation_email: String,
    /// The holder of the services; optional when the account has one.
    pub holder: Option<HolderDto>,
}

pub fn terms_error(accepted: bool) -> Option<FieldError> {
    (!accepted).then(|| {
        FieldError::new(
            "/accept_terms",
            "terms_not_accepted",
            "the terms must be accepted",
        )
    })
}

impl Validate for CheckoutRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = email_error("/activation_email", &self.activation_email)
            .into_iter()
            .chain(terms_error(self.accept_terms))
            .collect();
        if let Some(holder) = &self.holder {
            let lengths = holder.length_errors("/holder");
            if lengths.is_empty() {
                if let Err(e) = holder.parse("/holder") {
                    errors.extend(e);
                }
            } else {
                errors.extend(lengths);
            }
        }
        errors
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
    pub holder: serde_json::Value,
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
        holder: serde_json::from_str(&order.holder_json).unwrap_or_default(),
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

/// Check out a cart.
///
/// Turns the cart into an order `awaiting_payment` with frozen priced lines
/// and totals and payment instructions (bank transfer: IBAN and causale =
/// order number). Every eligibility violation is listed if any remains.
/// An anonymous cart (send its `X-Cart-Token`) is claimed by the customer.
/// Requires `Idempotency-Key`: a repeat returns the same order.
#[utoipa::path(
    operation_id = "checkout",
    tag = TAG,
    security(("customer_area" = [])),
    params(
        ("id" = Uuid, Path, description = "Cart id"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", description = "Unique per checkout attempt; replays for 24 h. A first request with this key still unanswered after 2 minutes (its server stopped) no longer blocks it: a repeat runs"),
        ("X-Cart-Token" = Option<String>, Header, description = "The token of an anonymous cart"),
    ),
    request_body(content = CheckoutRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The order", body = OrderDto),
        (status = 400, description = "Malformed JSON or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this customer's cart, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cart", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already checked out (`cart_not_open`), an add-on pending elsewhere (`addon_already_pending`), the cart kept changing during the checkout (`cart_changed`: added to and removed from without end), or the key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, `cart_not_eligible` (with `violations`), `cart_empty`, `holder_required`, or the key reused with another body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts/{id}/checkout")]
#[allow(clippy::too_many_arguments)]
pub async fn checkout(
    req: HttpRequest,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    limits: web::Data<Limits>,
    auth: CustomerAuth,
    body: Json<CheckoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let scope = format!("checkout:{}", auth.customer_id);
    let cart_id = *id;
    let request = body.0;
    idempotency::run_once(&db, &scope, &key, &fingerprint, || async {
        // An item added or removed while the order is placed makes the
        // placing fail unwritten; the cart is read and priced again. Each
        // retry follows a change of the cart, and a cart takes at most
        // `max_cart_items` additions: only a client adding and removing
        // without end gets 409 `cart_changed`.
        let mut holder = None;
        let mut attempt: usize = 0;
        loop {
            attempt += 1;
            let cart = claimable_cart(&db, &req, auth.customer_id, cart_id).await?;
            let (holder_dto, parsed) = match holder.take() {
                Some(resolved) => resolved,
                None => checkout_holder(&db, auth.customer_id, request.holder.as_ref()).await?,
            };
            let placed = place_order(
                &db,
                &view,
                &settings,
                OrderRequest {
                    customer_id: auth.customer_id,
                    cart_id: Some(cart.id),
                    channel: cart.channel,
                    lines: &cart.lines,
                    holder: &parsed,
                    holder_json: serde_json::to_string(&holder_dto).map_err(ApiError::internal)?,
                    activation_email: request.activation_email.trim(),
                    payment_method: request.payment_method.into(),
                },
            )
            .await;
            match placed {
                Ok(order) => return Ok((StatusCode::CREATED, order_dto(&order, &settings))),
                Err(error) if error.code() == CART_CHANGED && attempt <= limits.max_cart_items => {
                    holder = Some((holder_dto, parsed));
                }
                Err(error) => return Err(error),
            }
        }
    })
    .await
}

/// The cart `customer` may check out: theirs, or anonymous with its token.
async fn claimable_cart(
    db: &Database,
    req: &HttpRequest,
    customer: Uuid,
    cart_id: Uuid,
) -> Result<Cart, ApiError> {
    let cart = db
        .find_cart(cart_id)
        .await?
        .ok_or_else(|| ApiError::not_found("cart_not_found", format!("no cart {cart_id}")))?;
    match cart.customer_id {
        Some(owner) if owner == customer => Ok(cart),
        // Another customer's cart is not there for this one.
        Some(_) => Err(ApiError::not_found(
            "cart_not_found",
            format!("no cart {cart_id}"),
        )),
        None => {
            let token = req
                .headers()
                .get(CART_TOKEN)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if crate::routes::carts::token_opens(&cart, token) {
                Ok(cart)
            } else {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cart_token_invalid",
                    "send the cart's X-Cart-Token to claim an anonymous cart",
                ))
            }
        }
    }
}

/// The holder of the purchase: the one sent, or the account's.
async fn checkout_holder(
    db: &Database,
    customer: Uuid,
    sent: Option<&HolderDto>,
) -> Result<(HolderDto, Holder), ApiError> {
    let holder_dto = match sent {
        Some(holder) => holder.clone(),
        None => {
            let account = db.find_customer(customer).await?.ok_or_else(|| {
                ApiError::unauthorized("invalid_token", "the account no longer exists")
            })?;
            crate::routes::identity::holder_dto(&account.holder)
        }
    };
    let parsed = holder_dto.parse("/holder").map_err(|errors| {
        if sent.is_none() {
            ApiError::field(
                "/holder",
                "holder_required",
                "the account has no valid holder; send one",
            )
        } else {
            ApiError::validation(errors)
        }
    })?;
    Ok((holder_dto, parsed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page. It names a position in the list
    /// (the microseconds since 1970 and the id of the last item seen), so any
    /// value of this pattern is a valid cursor.
    #[param(
        max_length = 60,
        pattern = r"^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
}

impl QueryParams for PageQuery {
    fn expected(name: &str) -> Option<&'static str> {
        match name {
            "limit" => Some("limit must be a whole number from 1 to 100"),
            "cursor" => Some("cursor must be the next_cursor of a previous page"),
            _ => None,
        }
    }
}

impl PageQuery {
    pub fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(n) if (1..=100).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field(
                "/limit",
                "out_of_range",
                "limit is 1 to 100",
            )),
        }
    }

    /// The (created_at, id) the cursor encodes.
    pub fn after(&self) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let bad = || {
            ApiError::field(
                "/cursor",
                "invalid_cursor",
                "not a cursor this API returned",
            )
        };
        let (time, id) = cursor.split_once('_').ok_or_else(bad)?;
        let micros: i64 = time.parse().map_err(|_| bad())?;
        let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
    }
}

pub fn cursor_of(order: &OrderRecord) -> String {
    format!("{}_{}", order.created_at.timestamp_micros(), order.id)
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

/// List my orders.
///
/// Newest first, cursor pagination.
#[utoipa::path(
    operation_id = "listOrders",
    tag = TAG,
    security(("customer_area" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders")]
pub async fn list(
    query: Query<PageQuery>,
    db: web::Data<Database>,
    settings: web::Data<OrderSettings>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let orders = db
        .list_orders(Some(auth.customer_id), query.after()?, limit)
        .await?;
    Ok(HttpResponse::Ok().json(page(orders, limit, &settings)))
}

/// Get one of my orders.
#[utoipa::path(
    operation_id = "getOrder",
    tag = TAG,
    security(("customer_area" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders/{id}")]
pub async fn get(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    settings: web::Data<OrderSettings>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let order = db
        .find_order(*id)
        .await?
        .filter(|o| o.customer_id == auth.customer_id)
        .ok_or_else(|| ApiError::not_found("order_not_found", format!("no order {}", *id)))?;
    Ok(HttpResponse::Ok().json(order_dto(&order, &settings)))
}

/// Cancel one of my orders.
///
/// Only while it awaits payment; the add-ons it held become purchasable again.
#[utoipa::path(
    operation_id = "cancelOrder",
    tag = TAG,
    security(("customer_area" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The cancelled order", body = OrderDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting payment (`order_not_cancellable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/orders/{id}/cancel")]
pub async fn cancel(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    settings: web::Data<OrderSettings>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let (cancelled, order) = db
        .cancel_order(*id, auth.customer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order_not_found", format!("no order {}", *id)))?;
    if !cancelled && order.status != OrderStatus::Cancelled {
        return Err(ApiError::conflict(
            "order_not_cancellable",
            format!(
                "the order is {} and can no longer be cancelled",
                order.status.as_str()
            ),
        ));
    }
    if cancelled {
        tracing::info!(order_id = %order.id, "order cancelled");
    }
    Ok(HttpResponse::Ok().json(order_dto(&order, &settings)))
}
