//! What two or more areas show or read the same way, with one home each:
//! the holder, money text, priced lines, cursor pagination, common field
//! checks.

pub mod fields;
pub mod holder;
pub mod money;
pub mod pagination;
pub mod pricing;
