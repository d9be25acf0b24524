//! HTTP handlers, one module per resource.

pub mod backoffice;
pub mod carts;
pub mod catalog;
pub mod health;
pub mod identity;
pub mod panel;
