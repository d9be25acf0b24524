//! The catalog area: the products on sale (`/v1/catalog/...`) and the
//! catalog as every other area prices against it (`view::CatalogView`).

pub mod errors;
pub mod routes;
pub mod view;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "catalog";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::list_products)
        .service(routes::get_product);
}
