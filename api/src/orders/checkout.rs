//! Turning cart lines into an order: the buyer's context for the rules
//! (services, modules, pending add-ons, one FE per holder), the eligibility
//! check, pricing frozen into order lines, and the order itself.

use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::http::codes::ErrorCode;
use crate::http::problem::{ApiError, ProblemViolation};
use actix_web::http::StatusCode;
use chrono::Utc;
use domain::{
    Buyer, CartLine, Channel, Holder, OwnedModule, OwnedService, PaymentMethod, ProductCode,
    Violation,
};
use persistence::Database;
use persistence::order::{NewOrder, OrderLineRecord, OrderRecord, PlaceOrderError};
use persistence::service::ServiceRecord;
use uuid::Uuid;

/// The buyer as the rules see it, for buying `lines`: the rules look up
/// only the services the lines target, so only those of the customer's
/// are loaded; and whether the holder (when known) already has an FE.
pub async fn buyer(
    db: &Database,
    customer: Uuid,
    holder: Option<&Holder>,
    lines: &[CartLine],
) -> Result<Buyer, ApiError> {
    let mut targets: Vec<Uuid> = lines.iter().filter_map(|l| l.target_service_id).collect();
    targets.sort_unstable();
    targets.dedup();
    let services = db
        .services()
        .services_of_customer_among(customer, &targets)
        .await?;
    let owned = owned_services(db, &services).await?;
    let holder_has_fe = match holder {
        Some(holder) => db.orders().holder_has_base(holder.tax_id(), "fe").await?,
        None => false,
    };
    Ok(Buyer {
        services: owned,
        holder_has_fe,
        holder_has_partita_iva: holder.map(|h| h.partita_iva.is_some()),
    })
}

/// Services with their modules and pending add-ons, in the rules' terms.
pub async fn owned_services(
    db: &Database,
    services: &[ServiceRecord],
) -> Result<Vec<OwnedService>, ApiError> {
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = services.iter().map(|s| s.id).collect();
    let modules = db.orders().modules_of(&ids).await?;
    let pending = db.orders().pending_addons(&ids).await?;
    Ok(services
        .iter()
        .filter_map(|s| {
            Some(OwnedService {
                id: s.id,
                product_code: ProductCode::parse(&s.product_code).ok()?,
                status: s.status,
                expires_on: s.expires_on,
                modules: modules
                    .iter()
                    .filter(|m| m.service_id == s.id)
                    .filter_map(|m| {
                        Some(OwnedModule {
                            code: ProductCode::parse(&m.product_code).ok()?,
                            state: m.state,
                        })
                    })
                    .collect(),
                pending_addons: pending
                    .iter()
                    .filter(|(service, _)| *service == s.id)
                    .filter_map(|(_, code)| ProductCode::parse(code).ok())
                    .collect(),
            })
        })
        .collect())
}

/// Why an order was not placed: the checkout retries on `CartChanged`
/// (by its variant, never its code), the rest become the answer.
#[derive(Debug)]
pub enum CheckoutError {
    /// No lines to buy.
    Empty,
    /// Eligibility rules broken, every one of them.
    NotEligible(Vec<Violation>),
    /// The cart was checked out already.
    CartNotOpen,
    /// The cart changed while it was checked out: price it again, retry.
    CartChanged,
    /// The add-on is in another unpaid order for the same service.
    AddonPending { service_id: Uuid, product: String },
    /// Anything else, already an answer (a store failure, a bad holder).
    Failed(ApiError),
}

impl From<ApiError> for CheckoutError {
    fn from(error: ApiError) -> Self {
        CheckoutError::Failed(error)
    }
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> Self {
        match error {
            CheckoutError::Empty => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::CartEmpty,
                "the cart has no items",
            ),
            CheckoutError::NotEligible(violations) => {
                let count = violations.len();
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::CartNotEligible,
                    format!("the purchase breaks {count} rule(s); see violations"),
                )
                .with_violations(
                    violations
                        .into_iter()
                        .map(|v| ProblemViolation {
                            code: v.code.as_str().to_owned(),
                            item_id: v.line_id,
                            detail: v.detail,
                        })
                        .collect(),
                )
            }
            CheckoutError::CartNotOpen => ApiError::conflict(
                ErrorCode::CartNotOpen,
                "the cart has already been checked out",
            ),
            CheckoutError::CartChanged => ApiError::conflict(
                ErrorCode::CartChanged,
                "the cart changed while it was checked out; review it and retry",
            ),
            CheckoutError::AddonPending {
                service_id,
                product,
            } => ApiError::conflict(
                ErrorCode::AddonAlreadyPending,
                format!("{product} is already in another unpaid order for service {service_id}"),
            ),
            CheckoutError::Failed(error) => error,
        }
    }
}

/// What an order is made from.
pub struct OrderRequest<'a> {
    pub customer_id: Uuid,
    pub cart_id: Option<Uuid>,
    pub channel: Channel,
    pub lines: &'a [CartLine],
    pub holder: &'a Holder,
    pub activation_email: &'a str,
    pub payment_method: PaymentMethod,
}

/// Checks every rule, prices the lines and stores the order.
pub async fn place_order(
    db: &Database,
    view: &CatalogView,
    settings: &OrderSettings,
    request: OrderRequest<'_>,
) -> Result<OrderRecord, CheckoutError> {
    if request.lines.is_empty() {
        return Err(CheckoutError::Empty);
    }
    let today = Utc::now().date_naive();
    let buyer = buyer(db, request.customer_id, Some(request.holder), request.lines).await?;
    let violations = domain::check(request.lines, &view.catalog, &buyer, today);
    if !violations.is_empty() {
        return Err(CheckoutError::NotEligible(violations));
    }
    let priced = domain::price(request.lines, &view.catalog, &buyer, today);
    let lines: Vec<OrderLineRecord> = priced
        .lines
        .iter()
        .map(|line| {
            let source = request.lines.iter().find(|l| l.id == line.item_id);
            OrderLineRecord {
                item_id: line.item_id,
                product_code: line.product_code.clone(),
                description: line.description.clone(),
                context: line.context,
                unit_price_cents: line.unit_price.cents(),
                quantity: line.quantity,
                years: line.years,
                days: line.days,
                ends_on: line.ends_on,
                net_cents: line.net.cents(),
                vat_rate: line.vat_rate.normalize().to_string(),
                vat_cents: line.vat.cents(),
                total_cents: line.total.cents(),
                base_item_id: source.and_then(|s| s.base_item_id),
                target_service_id: source.and_then(|s| s.target_service_id),
            }
        })
        .collect();
    let claims: Vec<(Uuid, String)> = request
        .lines
        .iter()
        .filter_map(|l| l.target_service_id.map(|s| (s, l.product_code.clone())))
        .collect();
    let new = NewOrder {
        id: Uuid::new_v4(),
        customer_id: request.customer_id,
        cart_id: request.cart_id,
        cart_items: request.lines.iter().map(|l| l.id).collect(),
        channel: request.channel,
        payment_method: request.payment_method,
        activation_email: request.activation_email.to_owned(),
        holder: request.holder.clone(),
        net_cents: priced.totals.net.cents(),
        vat_cents: priced.totals.vat.cents(),
        total_cents: priced.totals.total.cents(),
        expires_at: Utc::now()
            + chrono::Duration::from_std(settings.expiry).unwrap_or(chrono::Duration::days(7)),
        lines,
        claims,
    };
    match db.orders().place_order(&new).await {
        Ok(order) => {
            tracing::info!(order_id = %order.id, number = %order.number, total_cents = order.total_cents, "order placed");
            Ok(order)
        }
        Err(PlaceOrderError::CartNotOpen) => Err(CheckoutError::CartNotOpen),
        Err(PlaceOrderError::CartChanged) => Err(CheckoutError::CartChanged),
        Err(PlaceOrderError::AddonPending {
            service_id,
            product,
        }) => Err(CheckoutError::AddonPending {
            service_id,
            product,
        }),
        Err(PlaceOrderError::Store(error)) => Err(CheckoutError::Failed(error.into())),
    }
}
