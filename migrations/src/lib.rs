//! Schema migrations, one file per change; each runs on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m0001_carts;
mod m0002_identity;
mod m0003_orders;
mod m0004_outbox;
mod m0005_order_numbers;
mod m0006_login_attempts;
mod m0007_payment_receipts;
mod m0008_jobs;
mod m0009_setup;
mod m0010_contacts;
mod m0011_invoices;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_carts::Migration),
            Box::new(m0002_identity::Migration),
            Box::new(m0003_orders::Migration),
            Box::new(m0004_outbox::Migration),
            Box::new(m0005_order_numbers::Migration),
            Box::new(m0006_login_attempts::Migration),
            Box::new(m0007_payment_receipts::Migration),
            Box::new(m0008_jobs::Migration),
            Box::new(m0009_setup::Migration),
            Box::new(m0010_contacts::Migration),
            Box::new(m0011_invoices::Migration),
        ]
    }
}
