//! The contacts (anagrafiche) of the panel user's service
//! (`/v1/panel/contacts`): customers and suppliers, with filters, cursor
//! pagination and ETag/If-Match; open once the FE configuration is complete.

pub mod dto;
pub mod errors;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "contacts";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::list)
        .service(routes::create)
        .service(routes::get)
        .service(routes::update)
        .service(routes::remove);
}
