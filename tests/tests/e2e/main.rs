//! End-to-end tests: one binary, one module per area. Every scenario runs
//! on SQLite and on PostgreSQL (see `tests::both_databases!`).

mod carts;
mod catalog;
mod compose;
mod contacts;
mod docs;
mod errors;
mod harness;
mod identity;
mod invoices;
mod openapi;
mod operations;
mod outbox;
mod panel;
mod purchase;
mod setup;
