//! The HTTP face of Attiva: actix-web handlers, request and response DTOs
//! (with their OpenAPI schemas), error mapping and server start-up.

pub mod app;
pub mod auth;
pub mod catalog_file;
pub mod credentials;
pub mod emails;
pub mod fulfilment;
pub mod idempotency;
pub mod jobs;
pub mod json;
pub mod mail;
pub mod money;
pub mod observability;
pub mod operators;
pub mod problem;
pub mod purchase;
pub mod query;
pub mod routes;
pub mod settings;
pub mod state;
pub mod telemetry;

pub use app::{Application, openapi, openapi_json};
pub use settings::Settings;
