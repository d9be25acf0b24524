//! Checkout and orders: `POST /v1/carts/{id}/checkout`, `GET /v1/orders`,
//! `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`.

use super::TAG;
use super::checkout::{CheckoutError, OrderRequest, place_order};
use super::dto::{OrderDto, OrderPage, PaymentMethodDto, order_dto, page};
use super::errors::{CancelOrderError, GetOrderError};
use crate::auth::CustomerAuth;
use crate::carts::token::{CART_TOKEN, token_opens};
use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::config::state::Limits;
use crate::http::codes::ErrorCode;
use crate::http::idempotency;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::http::query::Query;
use crate::shared::fields::{email_error, terms_error};
use crate::shared::holder::HolderDto;
use crate::shared::pagination::PageQuery;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::Holder;
use domain::OrderStatus;
use persistence::Database;
use persistence::cart::Cart;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
            let parsed = match holder.take() {
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
                    activation_email: request.activation_email.trim(),
                    payment_method: request.payment_method.into(),
                },
            )
            .await;
            match placed {
                Ok(order) => return Ok((StatusCode::CREATED, order_dto(&order, &settings))),
                Err(CheckoutError::CartChanged) if attempt <= limits.max_cart_items => {
                    holder = Some(parsed);
                }
                Err(error) => return Err(error.into()),
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
    let cart = db.carts().find_cart(cart_id).await?.ok_or_else(|| {
        ApiError::not_found(ErrorCode::CartNotFound, format!("no cart {cart_id}"))
    })?;
    match cart.customer_id {
        Some(owner) if owner == customer => Ok(cart),
        // Another customer's cart is not there for this one.
        Some(_) => Err(ApiError::not_found(
            ErrorCode::CartNotFound,
            format!("no cart {cart_id}"),
        )),
        None => {
            let token = req
                .headers()
                .get(CART_TOKEN)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if token_opens(&cart, token) {
                Ok(cart)
            } else {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::CartTokenInvalid,
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
) -> Result<Holder, ApiError> {
    match sent {
        Some(holder) => holder.parse("/holder").map_err(ApiError::validation),
        None => {
            let account = db
                .customers()
                .find_customer(customer)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(ErrorCode::InvalidToken, "the account no longer exists")
                })?;
            Ok(account.holder)
        }
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
        .orders()
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
        .orders()
        .find_order(*id)
        .await?
        .filter(|o| o.customer_id == auth.customer_id)
        .ok_or(GetOrderError::NotFound(*id))?;
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
        .orders()
        .cancel_order(*id, auth.customer_id)
        .await?
        .ok_or(CancelOrderError::NotFound(*id))?;
    if !cancelled && order.status != OrderStatus::Cancelled {
        return Err(CancelOrderError::NotCancellable(order.status).into());
    }
    if cancelled {
        tracing::info!(order_id = %order.id, "order cancelled");
    }
    Ok(HttpResponse::Ok().json(order_dto(&order, &settings)))
}
