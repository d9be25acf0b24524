//! Operations (`/health/...`, `/metrics`): liveness, readiness, Prometheus.

pub mod routes;

use utoipa_actix_web::service_config::ServiceConfig;

pub const TAG: &str = "operations";

/// Registers the area's operations (in the order of the OpenAPI document).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(routes::live)
        .service(routes::ready)
        .service(routes::metrics);
}
