//! sea-orm entities, one module per table.

pub mod addon_claim;
pub mod cart;
pub mod cart_item;
pub mod contact;
pub mod counter;
pub mod customer;
pub mod idempotency_key;
pub mod invoice;
pub mod invoice_attachment;
pub mod invoice_file;
pub mod job;
pub mod login_attempt;
pub mod module;
pub mod operator;
pub mod order;
pub mod order_line;
pub mod outbox_email;
pub mod panel_user;
pub mod payment;
pub mod payment_event;
pub mod payment_receipt;
pub mod refresh_token;
pub mod service;
pub mod setup_step;
