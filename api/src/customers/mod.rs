//! Customer accounts and sessions (`/v1/customers`, `/v1/auth/...`):
//! sign-up, the customer-area login, refresh-token rotation and logout.

pub mod errors;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG_CUSTOMERS: &str = "customers";
pub const TAG_AUTH: &str = "auth";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::sign_up)
        .service(routes::me)
        .service(routes::customer_login)
        .service(routes::refresh)
        .service(routes::logout);
}
