//! Checkout and orders (`/v1/carts/{id}/checkout`, `/v1/orders/...`): the
//! checkout use case (`checkout`: an order from a cart or an add-on
//! purchase), the order DTOs every area answers with, and the customer's
//! order operations.

pub mod checkout;
pub mod dto;
pub mod errors;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "orders";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::checkout)
        .service(routes::list)
        .service(routes::get)
        .service(routes::cancel);
}
