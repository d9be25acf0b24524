//! Carts and their lines. Ids are UUIDs stored as text (the same on both
//! databases); amounts are never stored on a cart, which is priced on read.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    Channel,
    TokenHash,
    CustomerId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    CartId,
    Position,
    ProductCode,
    Years,
    Quantity,
    BaseItemId,
    TargetServiceId,
    ExtendBase,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .col(string_len(Carts::Id, 36).primary_key())
                    .col(string_len(Carts::Channel, 32))
                    .col(string_len(Carts::TokenHash, 64))
                    .col(string_len_null(Carts::CustomerId, 36))
                    .col(string_len(Carts::Status, 32))
                    .col(timestamp_with_time_zone(Carts::CreatedAt))
                    .col(timestamp_with_time_zone(Carts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CartItems::Table)
                    .col(string_len(CartItems::Id, 36).primary_key())
                    .col(string_len(CartItems::CartId, 36))
                    .col(integer(CartItems::Position))
                    .col(string_len(CartItems::ProductCode, 64))
                    .col(integer_null(CartItems::Years))
                    .col(integer(CartItems::Quantity))
                    .col(string_len_null(CartItems::BaseItemId, 36))
                    .col(string_len_null(CartItems::TargetServiceId, 36))
                    .col(boolean(CartItems::ExtendBase))
                    .col(timestamp_with_time_zone(CartItems::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CartItems::Table, CartItems::CartId)
                            .to(Carts::Table, Carts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Positions are unique per cart: two concurrent additions cannot
        // take the same slot, so the cart's size limit holds under races.
        manager
            .create_index(
                Index::create()
                    .name("ux_cart_items_cart_position")
                    .table(CartItems::Table)
                    .col(CartItems::CartId)
                    .col(CartItems::Position)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CartItems::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Carts::Table).to_owned())
            .await
    }
}
