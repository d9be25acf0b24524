//! The FE configuration wizard's saved steps: one row per service and
//! step, its body as the API's canonical JSON (stored opaquely: the api
//! parses it back through its DTO), who saved it and when. The primary key
//! (service, step) makes a save one upsert, so saving the same body twice
//! leaves one row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SetupSteps {
    Table,
    ServiceId,
    Step,
    Data,
    SavedAt,
    SavedBy,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PanelUsers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SetupSteps::Table)
                    .col(string_len(SetupSteps::ServiceId, 36))
                    .col(string_len(SetupSteps::Step, 32))
                    .col(text(SetupSteps::Data))
                    .col(timestamp_with_time_zone(SetupSteps::SavedAt))
                    .col(string_len(SetupSteps::SavedBy, 36))
                    .primary_key(
                        Index::create()
                            .col(SetupSteps::ServiceId)
                            .col(SetupSteps::Step),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupSteps::Table, SetupSteps::ServiceId)
                            .to(Services::Table, Services::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SetupSteps::Table, SetupSteps::SavedBy)
                            .to(PanelUsers::Table, PanelUsers::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SetupSteps::Table).to_owned())
            .await
    }
}
