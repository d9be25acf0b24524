//! Every payment received for an order, whatever became of it (fulfilled
//! the order, flagged it for a different amount, or paid an order whose
//! fulfilment then failed): `payments` keeps only the one that paid the
//! order (unique per order, the exactly-once guard), so a short payment
//! followed by a full one left no trace of the first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentReceipts {
    Table,
    Id,
    OrderId,
    Source,
    Reference,
    AmountCents,
    PaidAt,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentReceipts::Table)
                    .col(string_len(PaymentReceipts::Id, 36).primary_key())
                    .col(string_len(PaymentReceipts::OrderId, 36))
                    .col(string_len(PaymentReceipts::Source, 16))
                    .col(string_len(PaymentReceipts::Reference, 255))
                    .col(big_integer(PaymentReceipts::AmountCents))
                    .col(timestamp_with_time_zone(PaymentReceipts::PaidAt))
                    .col(timestamp_with_time_zone(PaymentReceipts::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PaymentReceipts::Table, PaymentReceipts::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_receipts_order")
                    .table(PaymentReceipts::Table)
                    .col(PaymentReceipts::OrderId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentReceipts::Table).to_owned())
            .await
    }
}
