//! Owned services and add-on purchases (`/v1/services/...`,
//! `/v1/panel/services/...`), and the service DTOs the panel shows too.

pub mod addon;
pub mod dto;
pub mod errors;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "services";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::list)
        .service(routes::get)
        .service(routes::buy)
        .service(routes::panel_buy);
}
