//! Background jobs that are not e-mails: one row per piece of work the job
//! runner claims under a lease (`api::jobs::runner`). A periodic job (the
//! order-expiry sweep) is a single row whose `due_at` moves forward after
//! each run, so servers sharing the database take turns instead of all
//! sweeping; a one-off job (a matching run, a module's setup) is a row that
//! ends with `done_at` set, and is claimed again after a crash because its
//! lease runs out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    CreatedAt,
    DueAt,
    Attempts,
    ClaimedUntil,
    ClaimedBy,
    LastError,
    DoneAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(string_len(Jobs::Id, 64).primary_key())
                    .col(string_len(Jobs::Kind, 64))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::DueAt))
                    .col(integer(Jobs::Attempts))
                    .col(timestamp_with_time_zone_null(Jobs::ClaimedUntil))
                    .col(string_len_null(Jobs::ClaimedBy, 64))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone_null(Jobs::DoneAt))
                    .to_owned(),
            )
            .await?;
        // The runner's query: a kind's unfinished rows that are due.
        manager
            .create_index(
                Index::create()
                    .name("ix_jobs_kind_done_at_due_at")
                    .table(Jobs::Table)
                    .col(Jobs::Kind)
                    .col(Jobs::DoneAt)
                    .col(Jobs::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}
