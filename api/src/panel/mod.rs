//! The FE panel (`/v1/panel/...`): login with the emailed credentials, the
//! forced password change, the service status; the panel credentials
//! (temporary passwords) fulfilment and the back office issue.

pub mod credentials;
pub mod errors;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "panel";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::login)
        .service(routes::change_password)
        .service(routes::status);
}
