//! The HTTP face of Attiva. Cross-cutting parts: `http` (extractors,
//! problem+json, idempotency, middleware), `auth`, `config`, `mail`, `jobs`,
//! and `shared` (what areas show alike). Then one folder per area of the
//! resource map, each with its handlers (`routes.rs`, with their OpenAPI
//! annotations), its DTOs and its use cases, registered by `app.rs` with
//! one line: `catalog`, `carts`, `customers`, `panel`, `backoffice`,
//! `orders`, `payments`, `services`, `setup`, `contacts`, `invoices`,
//! `health`.

pub mod app;
pub mod auth;
pub mod config;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod shared;

pub mod backoffice;
pub mod carts;
pub mod catalog;
pub mod contacts;
pub mod customers;
pub mod health;
pub mod invoices;
pub mod orders;
pub mod panel;
pub mod payments;
pub mod services;
pub mod setup;

pub use app::{Application, openapi, openapi_json};
pub use config::Settings;
