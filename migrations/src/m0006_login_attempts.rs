//! Login throttling counts attempts, not failures: one row per throttle
//! key holds the attempts admitted in its current window, so that one
//! conditional upsert admits or refuses an attempt before its password is
//! verified (concurrent guesses can no longer all pass a check made
//! before any of them was recorded). `login_failures`, the log the old
//! check-then-record scheme counted, goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    ThrottleKey,
    WindowStartedAt,
    Attempts,
    AttemptLimit,
    Admitted,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    ThrottleKey,
    FailedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The key is text: it embeds a username or e-mail as typed at login.
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(text(LoginAttempts::ThrottleKey).primary_key())
                    .col(timestamp_with_time_zone(LoginAttempts::WindowStartedAt))
                    .col(big_integer(LoginAttempts::Attempts))
                    .col(big_integer(LoginAttempts::AttemptLimit))
                    .col(boolean(LoginAttempts::Admitted))
                    .to_owned(),
            )
            .await?;
        // Housekeeping deletes by age alone.
        manager
            .create_index(
                Index::create()
                    .name("ix_login_attempts_window_started_at")
                    .table(LoginAttempts::Table)
                    .col(LoginAttempts::WindowStartedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string_len(LoginFailures::Id, 36).primary_key())
                    .col(text(LoginFailures::ThrottleKey))
                    .col(timestamp_with_time_zone(LoginFailures::FailedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "ix_login_failures_key_failed_at",
                vec![LoginFailures::ThrottleKey, LoginFailures::FailedAt],
            ),
            ("ix_login_failures_failed_at", vec![LoginFailures::FailedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(LoginFailures::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .drop_table(Table::drop().table(LoginAttempts::Table).to_owned())
            .await
    }
}
