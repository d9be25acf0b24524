//! Carts (`/v1/carts/...`): create, read, add and remove lines, priced and
//! checked against the eligibility rules on every read; the anonymous cart
//! token.

pub mod errors;
pub mod routes;
pub mod token;

pub use routes::document_catalog;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "carts";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::create_cart)
        .service(routes::get_cart)
        .service(routes::add_item)
        .service(routes::remove_item);
}
