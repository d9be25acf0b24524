//! The contacts (anagrafiche) of a service: its customers and suppliers.
//! Duplicates are allowed (the matching procedure merges them), so no
//! unique key but the id. Lists read them by service in the order of
//! their name (`name_key`, then id: the cursor), all or by role, whole or
//! from a prefix of the name: each is a range of an index, read in order.
//! `name_key` is the name in lower case, compared byte by byte on both
//! databases (PostgreSQL's `C` collation, SQLite's default). `version` grows at every change (the
//! ETag); `updated_by` is the panel user who made the last one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Contacts {
    Table,
    Id,
    ServiceId,
    Role,
    Kind,
    Denominazione,
    Nome,
    Cognome,
    NameKey,
    PivaPaese,
    PivaCodice,
    CodiceFiscale,
    Indirizzo,
    NumeroCivico,
    Cap,
    Comune,
    Provincia,
    Nazione,
    Email,
    Pec,
    CodiceDestinatario,
    Version,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut name_key = string_len(Contacts::NameKey, 400);
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            name_key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(string_len(Contacts::Id, 36).primary_key())
                    .col(string_len(Contacts::ServiceId, 36))
                    .col(string_len(Contacts::Role, 16))
                    .col(string_len(Contacts::Kind, 24))
                    .col(string_len_null(Contacts::Denominazione, 200))
                    .col(string_len_null(Contacts::Nome, 100))
                    .col(string_len_null(Contacts::Cognome, 100))
                    .col(name_key)
                    .col(string_len_null(Contacts::PivaPaese, 2))
                    .col(string_len_null(Contacts::PivaCodice, 28))
                    .col(string_len_null(Contacts::CodiceFiscale, 16))
                    .col(string_len(Contacts::Indirizzo, 200))
                    .col(string_len(Contacts::NumeroCivico, 20))
                    .col(string_len(Contacts::Cap, 20))
                    .col(string_len(Contacts::Comune, 100))
                    .col(string_len(Contacts::Provincia, 2))
                    .col(string_len(Contacts::Nazione, 2))
                    .col(string_len_null(Contacts::Email, 254))
                    .col(string_len_null(Contacts::Pec, 254))
                    .col(string_len_null(Contacts::CodiceDestinatario, 7))
                    .col(big_integer(Contacts::Version))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .col(string_len(Contacts::CreatedBy, 36))
                    .col(timestamp_with_time_zone(Contacts::UpdatedAt))
                    .col(string_len(Contacts::UpdatedBy, 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contacts::Table, Contacts::ServiceId)
                            .to(Services::Table, Services::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &[Contacts]); 4] = [
            (
                "ix_contacts_service_name",
                &[Contacts::ServiceId, Contacts::NameKey, Contacts::Id],
            ),
            (
                "ix_contacts_service_role_name",
                &[
                    Contacts::ServiceId,
                    Contacts::Role,
                    Contacts::NameKey,
                    Contacts::Id,
                ],
            ),
            (
                "ix_contacts_service_piva",
                &[Contacts::ServiceId, Contacts::PivaCodice],
            ),
            (
                "ix_contacts_service_cf",
                &[Contacts::ServiceId, Contacts::CodiceFiscale],
            ),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(Contacts::Table);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Contacts::Table).to_owned())
            .await
    }
}
