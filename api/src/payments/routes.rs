//! Payments: the provider's signed webhook and the operator's registration
//! of bank transfers and postal slips. Both end in the same exactly-once
//! payment and fulfilment.

use super::TAG;
use super::errors::{ClearReviewError, RegisterPaymentError, RetryFulfilmentError, WebhookError};
use super::fulfilment::{self, Context, RetryOutcome};
use crate::auth::OperatorAuth;
use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::config::state::Lifetimes;
use crate::http::codes::ErrorCode;
use crate::http::idempotency;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::jobs::outbox::OutboxHandle;
use crate::orders::dto::{OrderDto, OrderPage, backoffice_order_dto, backoffice_page};
use crate::shared::money::parse_cents;
use crate::shared::pagination::PageQuery;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderName;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use persistence::Database;
use persistence::order::{OrderRecord, PaymentInput, PaymentOutcome};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub const SIGNATURE: HeaderName = HeaderName::from_static("payment-signature");

/// A payment-provider event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "evt_1Q2w3E4r", "type": "payment.succeeded", "order_number": "ATV-2026-000001",
    "amount": "30.50", "currency": "EUR", "provider_payment_id": "pi_3Q2w3E4r"
}))]
pub struct WebhookEvent {
    /// Unique per event; a repeated id changes nothing.
    #[schema(max_length = 255, min_length = 1)]
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    #[schema(max_length = 64)]
    pub order_number: String,
    /// Decimal euro amount: digits (no leading zero), optionally a point and
    /// one or two decimals; nothing else (no sign, exponent or spaces).
    #[schema(example = "30.50", pattern = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$")]
    pub amount: String,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(max_length = 255)]
    pub provider_payment_id: String,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
pub enum WebhookEventType {
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    #[serde(rename = "payment.failed")]
    PaymentFailed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// `fulfilled`, `duplicate`, `already_paid`, `flagged_for_review`
    /// (another amount; or paid in full but the fulfilment failed: the
    /// payment is recorded and an operator will retry it), `not_payable`
    /// (the order is cancelled or expired: the payment is recorded on it
    /// and it is flagged for a refund; or no such order), `recorded` (a
    /// failed payment).
    #[schema(example = "fulfilled")]
    pub outcome: String,
    #[schema(example = "ATV-2026-000001")]
    pub order_number: String,
}

type HmacSha256 = Hmac<Sha256>;

/// Checks `Payment-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`:
/// v1 = HMAC-SHA256(secret, "<t>.<raw body>") for one of the secrets, and
/// t within the tolerance of now.
fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    settings: &OrderSettings,
    now: i64,
) -> Result<(), WebhookError> {
    let invalid = WebhookError::BadSignature;
    let header = header.ok_or_else(|| invalid("no Payment-Signature header"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| invalid("the signature has no timestamp"))?;
    let tolerance = i64::try_from(settings.webhook_tolerance.as_secs()).unwrap_or(300);
    if (now - timestamp).abs() > tolerance {
        return Err(invalid(
            "the signature's timestamp is outside the tolerance",
        ));
    }
    for secret in &settings.webhook_secrets {
        for signature in &signatures {
            let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) else {
                continue;
            };
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            if mac.verify_slice(signature).is_ok() {
                return Ok(());
            }
        }
    }
    Err(invalid("no signature matches"))
}

/// Signs `body` for time `t` with `secret` (the provider's side; tests and
/// tooling use it).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Everything handlers need to fulfil orders.
pub struct Fulfiller<'a> {
    pub db: &'a Database,
    pub view: &'a CatalogView,
    pub settings: &'a OrderSettings,
    pub lifetimes: &'a Lifetimes,
    /// Woken after a fulfilment so the activation email leaves at once.
    pub outbox: &'a OutboxHandle,
}

impl Fulfiller<'_> {
    fn context(&self) -> Context<'_> {
        Context {
            db: self.db,
            view: self.view,
            orders: self.settings,
            temporary_password_ttl: self.lifetimes.temporary_password,
        }
    }

    async fn pay(
        &self,
        order: &OrderRecord,
        input: PaymentInput,
    ) -> Result<PaymentOutcome, ApiError> {
        let outcome = fulfilment::pay(&self.context(), order, input).await?;
        if matches!(outcome, PaymentOutcome::Fulfilled(_)) {
            self.outbox.wake();
        }
        Ok(outcome)
    }
}

/// Payment provider webhook.
///
/// Signed as `Payment-Signature: t=<unix seconds>,v1=<hex>` where v1 =
/// HMAC-SHA256(secret, "<t>.<raw body>"); several v1 values are allowed
/// (secret rotation); signatures older or newer than 300 s are refused.
/// Events are de-duplicated by id. A `payment.succeeded` whose amount equals
/// the order total pays and fulfils the order in one transaction; another
/// amount flags the order for review. Should the fulfilment fail for a
/// reason a retry would not cure, the payment is still recorded, the order
/// is `paid` and flagged for review, and the answer is 200
/// `flagged_for_review`: only a transient failure asks for a redelivery. A
/// payment for a cancelled or expired order is recorded on it and flags it
/// for a refund (`not_payable`).
#[utoipa::path(
    operation_id = "paymentWebhook",
    tag = TAG,
    params(("Payment-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    request_body(content = WebhookEvent, content_type = "application/json"),
    responses(
        (status = 200, description = "Accepted (see outcome)", body = WebhookAck),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, stale or wrong signature; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No order with this number", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/payments/webhook")]
#[allow(clippy::too_many_arguments)]
pub async fn webhook(
    req: HttpRequest,
    body: crate::http::json::RawJson,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    lifetimes: web::Data<Lifetimes>,
    outbox: web::Data<OutboxHandle>,
) -> Result<HttpResponse, ApiError> {
    let header = req.headers().get(&SIGNATURE).and_then(|v| v.to_str().ok());
    verify_signature(header, &body.0, &settings, Utc::now().timestamp())?;
    let event: WebhookEvent = crate::http::json::parse_bytes(&body.0)?;
    let order = db
        .orders()
        .find_order_by_number(event.order_number.trim())
        .await?
        .ok_or_else(|| WebhookError::UnknownOrder(event.order_number.clone()))?;
    let ack = |outcome: &str| {
        HttpResponse::Ok().json(WebhookAck {
            outcome: outcome.to_owned(),
            order_number: order.number.clone(),
        })
    };
    if event.event_type == WebhookEventType::PaymentFailed {
        let fresh = db
            .orders()
            .record_payment_event(&event.id, &order.number, "payment.failed")
            .await?;
        tracing::info!(order_id = %order.id, event_id = %event.id, "payment failed event");
        return Ok(ack(if fresh { "recorded" } else { "duplicate" }));
    }
    let amount_cents = parse_cents(&event.amount).ok_or_else(|| {
        ApiError::field(
            "/amount",
            ErrorCode::InvalidAmount,
            "a decimal euro amount, two decimals",
        )
    })?;
    let fulfiller = Fulfiller {
        db: &db,
        view: &view,
        settings: &settings,
        lifetimes: &lifetimes,
        outbox: &outbox,
    };
    let outcome = fulfiller
        .pay(
            &order,
            PaymentInput {
                event_id: Some(event.id.clone()),
                event_type: "payment.succeeded".into(),
                order_id: order.id,
                amount_cents,
                source: domain::PaymentSource::Webhook,
                reference: event.provider_payment_id.clone(),
                paid_at: Utc::now(),
            },
        )
        .await?;
    Ok(ack(match outcome {
        PaymentOutcome::Fulfilled(_) => "fulfilled",
        PaymentOutcome::DuplicateEvent => "duplicate",
        PaymentOutcome::AlreadyPaid(_) => "already_paid",
        PaymentOutcome::AmountDiffers(_)
        | PaymentOutcome::HolderAlreadyHasFe(_)
        | PaymentOutcome::FulfilmentFailed(_) => "flagged_for_review",
        PaymentOutcome::NotPayable(_) | PaymentOutcome::NotFound => "not_payable",
    }))
}

impl Validate for WebhookEvent {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.id.trim().is_empty() || self.id.len() > 255 {
            errors.push(FieldError::new(
                "/id",
                ErrorCode::InvalidLength,
                "1 to 255 characters",
            ));
        }
        if self.currency != "EUR" {
            errors.push(FieldError::new(
                "/currency",
                ErrorCode::UnsupportedCurrency,
                "only EUR",
            ));
        }
        if parse_cents(&self.amount).is_none() {
            errors.push(FieldError::new(
                "/amount",
                ErrorCode::InvalidAmount,
                "a decimal euro amount, two decimals",
            ));
        }
        if self.order_number.len() > 64 || self.provider_payment_id.len() > 255 {
            errors.push(FieldError::new(
                "/order_number",
                ErrorCode::InvalidLength,
                "too long",
            ));
        }
        errors
    }
}

/// Body of `POST /v1/backoffice/orders/{id}/payments`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "30.50", "paid_on": "2026-11-27", "reference": "CRO 1234567890"}))]
pub struct RegisterPaymentRequest {
    /// Decimal euro amount received: digits (no leading zero), optionally a
    /// point and one or two decimals; nothing else.
    #[schema(example = "30.50", pattern = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$")]
    pub amount: String,
    /// Value date of the transfer; default today.
    pub paid_on: Option<NaiveDate>,
    /// Bank reference (CRO/TRN) or postal slip number.
    #[schema(max_length = 255, min_length = 1)]
    pub reference: String,
}

impl Validate for RegisterPaymentRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if parse_cents(&self.amount).is_none() {
            errors.push(FieldError::new(
                "/amount",
                ErrorCode::InvalidAmount,
                "a decimal euro amount, two decimals",
            ));
        }
        if self.reference.trim().is_empty() || self.reference.len() > 255 {
            errors.push(FieldError::new(
                "/reference",
                ErrorCode::InvalidLength,
                "1 to 255 characters",
            ));
        }
        errors
    }
}

/// Register a payment (operator).
///
/// For bank transfers and postal slips. Requires `Idempotency-Key`. The
/// same exactly-once payment as the webhook: if the provider got there
/// first, 409 `order_already_paid`; an amount other than the total flags
/// the order for review (200), and so does a fulfilment that fails (200:
/// the payment is recorded, the order `paid`, to be retried).
#[utoipa::path(
    operation_id = "registerPayment",
    tag = "backoffice",
    security(("backoffice" = [])),
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", description = "Unique per registration; replays for 24 h. A first request with this key still unanswered after 2 minutes (its server stopped) no longer blocks it: a repeat runs"),
    ),
    request_body(content = RegisterPaymentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Paid and fulfilled", body = OrderDto),
        (status = 200, description = "Flagged for review: the amount differs, or the fulfilment failed (the order is `paid`; see `review_reason`)", body = OrderDto),
        (status = 400, description = "Malformed JSON or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already paid, cancelled or expired, or the key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key reused with another body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/backoffice/orders/{id}/payments")]
#[allow(clippy::too_many_arguments)]
pub async fn register(
    req: HttpRequest,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    lifetimes: web::Data<Lifetimes>,
    outbox: web::Data<OutboxHandle>,
    auth: OperatorAuth,
    body: Json<RegisterPaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let scope = format!("payment:{}", auth.operator_id);
    let order_id = *id;
    let request = body.0;
    idempotency::run_once(&db, &scope, &key, &fingerprint, || async {
        let order = db.orders().find_order(order_id)
            .await?
            .ok_or(RegisterPaymentError::OrderNotFound(order_id))?;
        let amount_cents = parse_cents(&request.amount).unwrap_or_default();
        let paid_at = request
            .paid_on
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map_or_else(Utc::now, |d| d.and_utc());
        let fulfiller = Fulfiller {
            db: &db,
            view: &view,
                settings: &settings,
            lifetimes: &lifetimes,
            outbox: &outbox,
        };
        let outcome = fulfiller
            .pay(
                &order,
                PaymentInput {
                    event_id: None,
                    event_type: "operator".into(),
                    order_id: order.id,
                    amount_cents,
                    source: domain::PaymentSource::Operator,
                    reference: request.reference.trim().to_owned(),
                    paid_at,
                },
            )
            .await?;
        tracing::info!(operator_id = %auth.operator_id, order_id = %order.id, "payment registered by an operator");
        match outcome {
            PaymentOutcome::Fulfilled(order) => Ok((StatusCode::CREATED, backoffice_order_dto(&order, &settings))),
            PaymentOutcome::AmountDiffers(order)
            | PaymentOutcome::HolderAlreadyHasFe(order)
            | PaymentOutcome::FulfilmentFailed(order) => {
                Ok((StatusCode::OK, backoffice_order_dto(&order, &settings)))
            }
            PaymentOutcome::AlreadyPaid(_) | PaymentOutcome::DuplicateEvent => {
                Err(RegisterPaymentError::AlreadyPaid.into())
            }
            PaymentOutcome::NotPayable(order) => {
                Err(RegisterPaymentError::NotPayable(order.status).into())
            }
            PaymentOutcome::NotFound => Err(RegisterPaymentError::OrderNotFound(order_id).into()),
        }
    })
    .await
}

/// Query of `GET /v1/backoffice/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BackofficeOrderQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (see `GET /v1/orders`).
    #[param(
        max_length = 60,
        pattern = r"^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
    /// `true`: only the orders flagged for review; `false`: only the others.
    pub flagged: Option<bool>,
}

impl crate::http::query::QueryParams for BackofficeOrderQuery {
    fn expected(name: &str) -> Option<&'static str> {
        match name {
            "flagged" => Some("flagged must be true or false"),
            other => <PageQuery as crate::http::query::QueryParams>::expected(other),
        }
    }
}

/// List all orders (operator).
///
/// Newest first, cursor pagination; `flagged=true` lists the orders
/// awaiting an operator's review (each with its `review_reason`).
#[utoipa::path(
    operation_id = "backofficeListOrders",
    tag = "backoffice",
    security(("backoffice" = [])),
    params(BackofficeOrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/backoffice/orders")]
pub async fn list_all(
    query: crate::http::query::Query<BackofficeOrderQuery>,
    db: web::Data<Database>,
    settings: web::Data<OrderSettings>,
    _auth: OperatorAuth,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = paging.limit()?;
    let orders = db
        .orders()
        .list_orders_flagged(query.flagged, paging.after()?, limit)
        .await?;
    Ok(HttpResponse::Ok().json(backoffice_page(orders, limit, &settings)))
}

/// Retry a failed fulfilment (operator).
///
/// For a `paid` order whose fulfilment failed (it is flagged for review
/// with the reason): fulfils it now, with fresh panel credentials. 200 with
/// the order either way: `fulfilled` (the review flag stays until cleared),
/// or still `paid`, flagged with the new reason.
#[utoipa::path(
    operation_id = "backofficeRetryFulfilment",
    tag = "backoffice",
    security(("backoffice" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order: fulfilled, or still paid and flagged with the new reason", body = OrderDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a paid, unfulfilled order (`order_not_retryable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/backoffice/orders/{id}/fulfilment/retry")]
#[allow(clippy::too_many_arguments)]
pub async fn retry_fulfilment(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    lifetimes: web::Data<Lifetimes>,
    outbox: web::Data<OutboxHandle>,
    auth: OperatorAuth,
) -> Result<HttpResponse, ApiError> {
    let order = db
        .orders()
        .find_order(*id)
        .await?
        .ok_or(RetryFulfilmentError::OrderNotFound(*id))?;
    let fulfiller = Fulfiller {
        db: &db,
        view: &view,
        settings: &settings,
        lifetimes: &lifetimes,
        outbox: &outbox,
    };
    tracing::info!(operator_id = %auth.operator_id, order_id = %order.id, "fulfilment retried by an operator");
    match fulfilment::retry(&fulfiller.context(), &order).await? {
        RetryOutcome::Fulfilled(order) => {
            outbox.wake();
            Ok(HttpResponse::Ok().json(backoffice_order_dto(&order, &settings)))
        }
        RetryOutcome::Failed(order) => {
            Ok(HttpResponse::Ok().json(backoffice_order_dto(&order, &settings)))
        }
        RetryOutcome::NotRetryable(order) => {
            Err(RetryFulfilmentError::NotRetryable(order.status).into())
        }
    }
}

/// Clear an order's review flag (operator).
///
/// The operator has dealt with what the flag reported (a refund, a
/// reassignment, a retried fulfilment); the flag and its reason go. Nothing
/// else changes.
#[utoipa::path(
    operation_id = "backofficeClearReview",
    tag = "backoffice",
    security(("backoffice" = [])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order, no longer flagged", body = OrderDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/backoffice/orders/{id}/review/clear")]
pub async fn clear_review(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    settings: web::Data<OrderSettings>,
    auth: OperatorAuth,
) -> Result<HttpResponse, ApiError> {
    let order = db
        .orders()
        .clear_review(*id)
        .await?
        .ok_or(ClearReviewError::OrderNotFound(*id))?;
    tracing::info!(operator_id = %auth.operator_id, order_id = %order.id, "review flag cleared by an operator");
    Ok(HttpResponse::Ok().json(backoffice_order_dto(&order, &settings)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::time::Duration;

    fn settings(secrets: &[&str]) -> OrderSettings {
        OrderSettings {
            webhook_secrets: secrets
                .iter()
                .map(|s| SecretString::from((*s).to_owned()))
                .collect(),
            webhook_tolerance: Duration::from_secs(300),
            expiry: Duration::from_secs(86_400),
            expiry_sweep: Duration::from_secs(60),
            bank_iban: String::new(),
            bank_beneficiary: String::new(),
            panel_url: String::new(),
            codice_destinatario: "KRRH6B9".into(),
        }
    }

    #[test]
    fn the_documented_amount_pattern_is_the_parsers() {
        let document = serde_json::to_value(crate::openapi()).unwrap_or_default();
        for schema in ["WebhookEvent", "RegisterPaymentRequest"] {
            assert_eq!(
                document["components"]["schemas"][schema]["properties"]["amount"]["pattern"],
                domain::money::MONEY_PATTERN,
                "{schema}"
            );
        }
    }

    #[test]
    fn signatures_are_checked_with_every_secret_and_the_clock() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("new", 1_000, body);
        assert!(verify_signature(Some(&header), body, &settings(&["old", "new"]), 1_100).is_ok());
        assert!(verify_signature(Some(&header), body, &settings(&["old"]), 1_100).is_err());
        assert!(verify_signature(Some(&header), body, &settings(&["new"]), 1_301).is_err());
        assert!(verify_signature(Some(&header), b"{}", &settings(&["new"]), 1_000).is_err());
        let two = format!("{header},v1=00ff");
        assert!(verify_signature(Some(&two), body, &settings(&["new"]), 1_000).is_ok());
        assert!(verify_signature(None, body, &settings(&["new"]), 1_000).is_err());
    }
}
