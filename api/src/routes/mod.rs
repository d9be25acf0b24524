//! HTTP handlers, one module per resource.

pub mod carts;
pub mod catalog;
pub mod health;
