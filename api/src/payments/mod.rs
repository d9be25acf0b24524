//! Payments (`/v1/payments/...`, `/v1/backoffice/orders/...`): the
//! provider's signed webhook, the operator's registration of a payment, the
//! flagged orders; `fulfilment` turns a payment into the service, its
//! modules, the panel user and the activation email.

pub mod errors;
pub mod fulfilment;
pub mod routes;

pub use routes::sign;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "payments";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::webhook)
        .service(routes::register)
        .service(routes::list_all)
        .service(routes::retry_fulfilment)
        .service(routes::clear_review);
}
