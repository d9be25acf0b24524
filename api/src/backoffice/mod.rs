//! The back office (`/v1/backoffice/...`): operators' login and credential
//! reissue; `operators` makes operator accounts (`attiva operator create`).
//! The flagged-orders operations live with the payments.

pub mod errors;
pub mod operators;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "backoffice";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::login)
        .service(routes::reissue_credentials);
}
