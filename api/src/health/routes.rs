//! Liveness, readiness and metrics, for orchestrators and operators.

use super::TAG;
use crate::http::observability::Metrics;
use crate::http::problem::{ApiError, Problem};
use actix_web::{HttpResponse, get, web};
use persistence::Database;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    #[schema(example = "ok")]
    pub status: String,
    /// Readiness only: the database backend checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "sqlite")]
    pub database: Option<String>,
}

/// Liveness.
///
/// The process answers HTTP. Touches nothing else.
#[utoipa::path(
    operation_id = "live",
    tag = TAG,
    responses((status = 200, description = "Alive", body = HealthDto, example = json!({"status": "ok"})))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthDto {
        status: "ok".to_owned(),
        database: None,
    })
}

/// Readiness.
///
/// The server can serve requests: the database answers a round trip.
#[utoipa::path(
    operation_id = "ready",
    tag = TAG,
    responses(
        (status = 200, description = "Ready", body = HealthDto, example = json!({"status": "ready", "database": "sqlite"})),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    db.ping().await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(HealthDto {
        status: "ready".to_owned(),
        database: Some(db.backend().as_str().to_owned()),
    }))
}

/// Prometheus metrics.
///
/// Request counts and latency histograms by method, route template and
/// status, in the Prometheus text format.
#[utoipa::path(
    operation_id = "metrics",
    tag = TAG,
    responses((status = 200, description = "Prometheus text exposition", body = String,
        content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
