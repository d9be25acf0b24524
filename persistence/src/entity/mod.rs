//! sea-orm entities, one module per table.

pub mod cart;
pub mod cart_item;
pub mod customer;
pub mod login_failure;
pub mod operator;
pub mod panel_user;
pub mod refresh_token;
pub mod service;
