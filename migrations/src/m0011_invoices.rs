//! Imported FatturaPA invoices (issue 11).
//!
//! - `invoice_files`: each imported file as it arrived (its bytes and
//!   content type: `application/xml` or `application/pkcs7-mime`); the
//!   bodies of a lotto share one row.
//! - `invoices`: one row per body (`FatturaElettronicaBody`). What lists
//!   filter on are columns with indexes (service, direction, date,
//!   TipoDocumento, number, the counterpart's name key and tax ids, the
//!   contact it is matched to); the rest of the invoice (parties, VAT
//!   summary, ritenute, bollo, casse, payments) is one JSON text column.
//!   Money is text (a decimal exactly as written), never a float. What
//!   the file writes freely (numbers, names, codes from abroad) is `text`,
//!   so no length the schema allows but a column does not can refuse it.
//!   Unique on (service, direction, seller IdFiscaleIVA paese and codice,
//!   TipoDocumento, number, year of the date): importing an invoice again
//!   creates nothing. `contact_id` points to `contacts` (the matching
//!   procedure sets it), so a contact invoices point to cannot be deleted.
//! - `invoice_attachments`: the Allegati of a body, decoded, numbered from 1.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum InvoiceFiles {
    Table,
    Id,
    ServiceId,
    ContentType,
    FileName,
    Size,
    Content,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum Invoices {
    Table,
    Id,
    ServiceId,
    FileId,
    BodyIndex,
    Direction,
    Format,
    TipoDocumento,
    Numero,
    NumeroKey,
    Data,
    Anno,
    Divisa,
    ImportoTotale,
    SellerPaese,
    SellerCodice,
    CounterpartName,
    CounterpartKey,
    CounterpartPiva,
    CounterpartCf,
    ContactId,
    Details,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum InvoiceAttachments {
    Table,
    InvoiceId,
    Position,
    Nome,
    Formato,
    Descrizione,
    Size,
    Content,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InvoiceFiles::Table)
                    .col(string_len(InvoiceFiles::Id, 36).primary_key())
                    .col(string_len(InvoiceFiles::ServiceId, 36))
                    .col(string_len(InvoiceFiles::ContentType, 64))
                    .col(text_null(InvoiceFiles::FileName))
                    .col(big_integer(InvoiceFiles::Size))
                    .col(blob(InvoiceFiles::Content))
                    .col(timestamp_with_time_zone(InvoiceFiles::CreatedAt))
                    .col(string_len(InvoiceFiles::CreatedBy, 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from(InvoiceFiles::Table, InvoiceFiles::ServiceId)
                            .to(Services::Table, Services::Id),
                    )
                    .to_owned(),
            )
            .await?;

        // The name key is compared byte by byte on both databases, as the
        // contacts' is.
        let mut counterpart_key = text(Invoices::CounterpartKey);
        let mut numero_key = text(Invoices::NumeroKey);
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            counterpart_key.extra("COLLATE \"C\"");
            numero_key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .col(string_len(Invoices::Id, 36).primary_key())
                    .col(string_len(Invoices::ServiceId, 36))
                    .col(string_len(Invoices::FileId, 36))
                    .col(integer(Invoices::BodyIndex))
                    .col(string_len(Invoices::Direction, 8))
                    .col(string_len(Invoices::Format, 8))
                    .col(string_len(Invoices::TipoDocumento, 4))
                    .col(text(Invoices::Numero))
                    .col(numero_key)
                    .col(date(Invoices::Data))
                    .col(integer(Invoices::Anno))
                    .col(text(Invoices::Divisa))
                    .col(string_len(Invoices::ImportoTotale, 40))
                    .col(text(Invoices::SellerPaese))
                    .col(text(Invoices::SellerCodice))
                    .col(text(Invoices::CounterpartName))
                    .col(counterpart_key)
                    .col(text_null(Invoices::CounterpartPiva))
                    .col(text_null(Invoices::CounterpartCf))
                    .col(string_len_null(Invoices::ContactId, 36))
                    .col(text(Invoices::Details))
                    .col(timestamp_with_time_zone(Invoices::CreatedAt))
                    .col(string_len(Invoices::CreatedBy, 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invoices::Table, Invoices::ServiceId)
                            .to(Services::Table, Services::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invoices::Table, Invoices::FileId)
                            .to(InvoiceFiles::Table, InvoiceFiles::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invoices::Table, Invoices::ContactId)
                            .to(Contacts::Table, Contacts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_invoices_key")
                    .table(Invoices::Table)
                    .col(Invoices::ServiceId)
                    .col(Invoices::Direction)
                    .col(Invoices::SellerPaese)
                    .col(Invoices::SellerCodice)
                    .col(Invoices::TipoDocumento)
                    .col(Invoices::Numero)
                    .col(Invoices::Anno)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, &[Invoices]); 8] = [
            (
                "ix_invoices_service_data",
                &[Invoices::ServiceId, Invoices::Data, Invoices::Id],
            ),
            (
                "ix_invoices_service_direction_data",
                &[
                    Invoices::ServiceId,
                    Invoices::Direction,
                    Invoices::Data,
                    Invoices::Id,
                ],
            ),
            (
                "ix_invoices_service_contact_data",
                &[
                    Invoices::ServiceId,
                    Invoices::ContactId,
                    Invoices::Data,
                    Invoices::Id,
                ],
            ),
            (
                "ix_invoices_service_tipo",
                &[Invoices::ServiceId, Invoices::TipoDocumento],
            ),
            (
                "ix_invoices_service_counterpart",
                &[Invoices::ServiceId, Invoices::CounterpartKey],
            ),
            (
                "ix_invoices_service_numero",
                &[Invoices::ServiceId, Invoices::NumeroKey],
            ),
            (
                "ix_invoices_service_counterpart_piva",
                &[Invoices::ServiceId, Invoices::CounterpartPiva],
            ),
            (
                "ix_invoices_service_counterpart_cf",
                &[Invoices::ServiceId, Invoices::CounterpartCf],
            ),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(Invoices::Table);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // The foreign keys' own lookups: a contact's delete and a file's
        // bodies.
        for (name, column) in [
            ("ix_invoices_contact", Invoices::ContactId),
            ("ix_invoices_file", Invoices::FileId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Invoices::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(InvoiceAttachments::Table)
                    .col(string_len(InvoiceAttachments::InvoiceId, 36))
                    .col(integer(InvoiceAttachments::Position))
                    .col(text(InvoiceAttachments::Nome))
                    .col(text_null(InvoiceAttachments::Formato))
                    .col(text_null(InvoiceAttachments::Descrizione))
                    .col(big_integer(InvoiceAttachments::Size))
                    .col(blob(InvoiceAttachments::Content))
                    .primary_key(
                        Index::create()
                            .col(InvoiceAttachments::InvoiceId)
                            .col(InvoiceAttachments::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(InvoiceAttachments::Table, InvoiceAttachments::InvoiceId)
                            .to(Invoices::Table, Invoices::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InvoiceAttachments::Table.into_iden(),
            Invoices::Table.into_iden(),
            InvoiceFiles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
