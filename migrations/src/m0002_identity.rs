//! Identity: customers, their services, panel users, operators, refresh
//! tokens and login failures. Column lengths follow the domain's limits;
//! fields the domain does not bound are `text`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    Email,
    EmailNormalized,
    PasswordHash,
    HolderKind,
    Denominazione,
    Nome,
    Cognome,
    CodiceFiscale,
    PartitaIva,
    Indirizzo,
    NumeroCivico,
    Cap,
    Comune,
    Provincia,
    Nazione,
    Phone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
    CustomerId,
    ProductCode,
    Status,
    HolderTaxId,
    CodiceDestinatario,
    ExpiresOn,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PanelUsers {
    Table,
    Id,
    ServiceId,
    Username,
    PasswordHash,
    MustChangePassword,
    TemporaryPasswordExpiresAt,
    CredentialsVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    Username,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    FamilyId,
    Audience,
    SubjectId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    ThrottleKey,
    FailedAt,
}

/// An e-mail address is at most 254 characters (RFC 5321 path limit);
/// 320 leaves room for what a lax client might send before validation.
const EMAIL_LEN: u32 = 320;
/// Argon2 PHC strings are about 100 characters.
const PASSWORD_HASH_LEN: u32 = 255;

fn index<T, C, const N: usize>(name: &str, table: T, columns: [C; N]) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIden,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(string_len(Customers::Id, 36).primary_key())
                    .col(string_len(Customers::Email, EMAIL_LEN))
                    .col(string_len(Customers::EmailNormalized, EMAIL_LEN))
                    .col(string_len(Customers::PasswordHash, PASSWORD_HASH_LEN))
                    .col(string_len(Customers::HolderKind, 32))
                    .col(string_len_null(Customers::Denominazione, 200))
                    .col(string_len_null(Customers::Nome, 100))
                    .col(string_len_null(Customers::Cognome, 100))
                    .col(string_len(Customers::CodiceFiscale, 16))
                    .col(string_len_null(Customers::PartitaIva, 11))
                    .col(string_len(Customers::Indirizzo, 200))
                    .col(string_len(Customers::NumeroCivico, 20))
                    // CAP and provincia are only checked for Italy.
                    .col(text(Customers::Cap))
                    .col(string_len(Customers::Comune, 100))
                    .col(text(Customers::Provincia))
                    .col(string_len(Customers::Nazione, 2))
                    .col(string_len_null(Customers::Phone, 20))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The caller normalises (trim, lower-case); the index makes the
        // address unique however it was typed.
        manager
            .create_index(
                index(
                    "ux_customers_email_normalized",
                    Customers::Table,
                    [Customers::EmailNormalized],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(string_len(Services::Id, 36).primary_key())
                    .col(string_len(Services::CustomerId, 36))
                    .col(string_len(Services::ProductCode, 64))
                    .col(string_len(Services::Status, 32))
                    .col(string_len(Services::HolderTaxId, 16))
                    .col(string_len(Services::CodiceDestinatario, 7))
                    .col(date(Services::ExpiresOn))
                    .col(timestamp_with_time_zone(Services::CreatedAt))
                    .col(timestamp_with_time_zone(Services::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_services_customer")
                            .from(Services::Table, Services::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_services_customer_id",
                Services::Table,
                [Services::CustomerId, Services::CreatedAt],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_services_holder_tax_id",
                Services::Table,
                [Services::HolderTaxId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PanelUsers::Table)
                    .col(string_len(PanelUsers::Id, 36).primary_key())
                    .col(string_len(PanelUsers::ServiceId, 36))
                    .col(string_len(PanelUsers::Username, 64))
                    .col(string_len(PanelUsers::PasswordHash, PASSWORD_HASH_LEN))
                    .col(boolean(PanelUsers::MustChangePassword))
                    .col(timestamp_with_time_zone_null(
                        PanelUsers::TemporaryPasswordExpiresAt,
                    ))
                    .col(integer(PanelUsers::CredentialsVersion))
                    .col(timestamp_with_time_zone(PanelUsers::CreatedAt))
                    .col(timestamp_with_time_zone(PanelUsers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_panel_users_service")
                            .from(PanelUsers::Table, PanelUsers::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One panel user per service, and usernames are logins.
        manager
            .create_index(
                index(
                    "ux_panel_users_service_id",
                    PanelUsers::Table,
                    [PanelUsers::ServiceId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_panel_users_username",
                    PanelUsers::Table,
                    [PanelUsers::Username],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .col(string_len(Operators::Id, 36).primary_key())
                    .col(string_len(Operators::Username, 64))
                    .col(string_len(Operators::PasswordHash, PASSWORD_HASH_LEN))
                    .col(timestamp_with_time_zone(Operators::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_operators_username",
                    Operators::Table,
                    [Operators::Username],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        // subject_id names a customer, a panel user or an operator
        // (by audience), so it has no foreign key.
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string_len(RefreshTokens::Id, 36).primary_key())
                    .col(string_len(RefreshTokens::FamilyId, 36))
                    .col(string_len(RefreshTokens::Audience, 32))
                    .col(string_len(RefreshTokens::SubjectId, 36))
                    .col(string_len(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_refresh_tokens_token_hash",
                    RefreshTokens::Table,
                    [RefreshTokens::TokenHash],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_family_id",
                RefreshTokens::Table,
                [RefreshTokens::FamilyId],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_audience_subject",
                RefreshTokens::Table,
                [RefreshTokens::Audience, RefreshTokens::SubjectId],
            ))
            .await?;

        // The key is text: it embeds a username or e-mail as typed at login.
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
        manager
            .create_index(index(
                "ix_login_failures_key_failed_at",
                LoginFailures::Table,
                [LoginFailures::ThrottleKey, LoginFailures::FailedAt],
            ))
            .await?;
        // Housekeeping deletes by age alone.
        manager
            .create_index(index(
                "ix_login_failures_failed_at",
                LoginFailures::Table,
                [LoginFailures::FailedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginFailures::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Operators::Table.into_iden(),
            PanelUsers::Table.into_iden(),
            Services::Table.into_iden(),
            Customers::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
