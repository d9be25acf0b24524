//! The add-on purchase for an owned service (customer area and panel):
//! one line targeting the service, through the checkout's rules.

use super::errors::AddonPurchaseError;
use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::http::problem::ApiError;
use crate::orders::checkout::{OrderRequest, place_order};
use domain::{CartLine, Channel, PaymentMethod};
use persistence::Database;
use persistence::order::OrderRecord;
use persistence::service::ServiceRecord;
use uuid::Uuid;

/// What an add-on purchase for an owned service names.
pub struct AddonPurchase<'a> {
    pub service: &'a ServiceRecord,
    pub product_code: &'a str,
    pub channel: Channel,
    pub payment_method: PaymentMethod,
    /// Extend the base pro rata so the add-on gets a full year.
    pub extend_base: bool,
    /// Where the order's emails go; the customer's email when absent.
    pub confirmation_email: Option<&'a str>,
}

/// Places an order for one add-on on an owned service: the holder is the
/// service owner's, the eligibility rules and pricing are the checkout's.
pub async fn buy_addon(
    db: &Database,
    view: &CatalogView,
    settings: &OrderSettings,
    purchase: AddonPurchase<'_>,
) -> Result<OrderRecord, AddonPurchaseError> {
    let AddonPurchase {
        service,
        product_code,
        channel,
        payment_method,
        extend_base,
        confirmation_email,
    } = purchase;
    let product = view
        .catalog
        .get(product_code)
        .filter(|p| p.is_addon())
        .ok_or_else(|| AddonPurchaseError::NotAnAddon(product_code.to_owned()))?;
    let customer = db
        .customers()
        .find_customer(service.customer_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("service without customer")))?;
    let line = CartLine {
        id: Uuid::new_v4(),
        product_code: product.code.to_string(),
        years: None,
        quantity: 1,
        base_item_id: None,
        target_service_id: Some(service.id),
        extend_base,
    };
    let order = place_order(
        db,
        view,
        settings,
        OrderRequest {
            customer_id: service.customer_id,
            cart_id: None,
            channel,
            lines: std::slice::from_ref(&line),
            holder: &customer.holder,
            activation_email: confirmation_email.unwrap_or(&customer.email),
            payment_method,
        },
    )
    .await?;
    Ok(order)
}
