//! HTTP handlers, one module per resource.

pub mod backoffice;
pub mod carts;
pub mod catalog;
pub mod health;
pub mod identity;
pub mod orders;
pub mod panel;
pub mod payments;
pub mod services;
