//! The FE configuration wizard (`/v1/panel/setup...`, product.md section
//! 3): the wizard as a whole, saving one step, completing it (the service
//! becomes `active`); and the gate of the panel's operations that need the
//! FE configured (`gate.rs`). The rules are `domain::wizard`'s; the saved
//! steps are `db.setup()`'s.

pub mod dto;
pub mod errors;
pub mod gate;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "setup";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::get_setup)
        .service(routes::save_step)
        .service(routes::complete);
}
