//! The e-mail outbox: mail is queued in the transaction that decides to send
//! it (the transactional outbox) and delivered by a background worker that
//! claims rows with a lease.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
    Id,
    Kind,
    Recipient,
    Subject,
    BodyText,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    ClaimedBy,
    SentAt,
    LastError,
    OrderId,
}

/// As `customers.email` (m0002): room beyond the RFC 5321 path limit.
const EMAIL_LEN: u32 = 320;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // order_id is text without a foreign key: it is for tracing, and an
        // e-mail may outlive (or not belong to) an order.
        manager
            .create_table(
                Table::create()
                    .table(OutboxEmails::Table)
                    .col(string_len(OutboxEmails::Id, 36).primary_key())
                    .col(string_len(OutboxEmails::Kind, 64))
                    .col(string_len(OutboxEmails::Recipient, EMAIL_LEN))
                    .col(text(OutboxEmails::Subject))
                    .col(text(OutboxEmails::BodyText))
                    .col(timestamp_with_time_zone(OutboxEmails::CreatedAt))
                    .col(integer(OutboxEmails::Attempts))
                    .col(timestamp_with_time_zone(OutboxEmails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxEmails::ClaimedUntil))
                    .col(string_len_null(OutboxEmails::ClaimedBy, 64))
                    .col(timestamp_with_time_zone_null(OutboxEmails::SentAt))
                    .col(text_null(OutboxEmails::LastError))
                    .col(string_len_null(OutboxEmails::OrderId, 36))
                    .to_owned(),
            )
            .await?;
        // The worker's query: unsent (sent_at IS NULL) and due.
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_emails_sent_at_next_attempt_at")
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::SentAt)
                    .col(OutboxEmails::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // Operations look mail up by address.
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_emails_recipient")
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::Recipient)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxEmails::Table).to_owned())
            .await
    }
}
