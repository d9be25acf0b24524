//! sea-orm entities, one module per table.

pub mod cart;
pub mod cart_item;
