//! The imported FatturaPA invoices of the panel user's service
//! (`/v1/panel/invoices`): the import of XML, signed `.p7m` and zip files
//! (`import.rs`, the use case), the list with filters and a cursor, one
//! invoice, its file and its attachments; open once the FE configuration
//! is complete.

pub mod dto;
pub mod errors;
pub mod import;
pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "invoices";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::import)
        .service(routes::list)
        .service(routes::get)
        .service(routes::file)
        .service(routes::attachment);
}
