//! Orders and what paying them involves: order lines, human order numbers,
//! pending add-on claims (one per service and product: two concurrent
//! purchases cannot both create an order), idempotency keys, payments and
//! provider events (de-duplicated by id), and the modules of a service.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    CustomerId,
    CartId,
    Kind,
    Channel,
    Status,
    PaymentMethod,
    ActivationEmail,
    HolderJson,
    HolderTaxId,
    TargetServiceId,
    NetCents,
    VatCents,
    TotalCents,
    FlaggedForReview,
    ReviewReason,
    ServiceId,
    CreatedAt,
    ExpiresAt,
    PaidAt,
    FulfilledAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    Position,
    ItemId,
    ProductCode,
    Description,
    Context,
    UnitPriceCents,
    Quantity,
    Years,
    Days,
    EndsOn,
    NetCents,
    VatRate,
    VatCents,
    TotalCents,
    BaseItemId,
    TargetServiceId,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum AddonClaims {
    Table,
    ServiceId,
    ProductCode,
    OrderId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    IdemKey,
    RequestHash,
    Status,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    Source,
    Reference,
    AmountCents,
    PaidAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    EventId,
    OrderNumber,
    EventType,
    Outcome,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Modules {
    Table,
    Id,
    ServiceId,
    ProductCode,
    State,
    BoughtWithBase,
    OrderId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    MatchingCompletedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(string_len(Orders::Id, 36).primary_key())
                    .col(string_len_uniq(Orders::Number, 32))
                    .col(string_len(Orders::CustomerId, 36))
                    .col(string_len_null(Orders::CartId, 36))
                    .col(string_len(Orders::Kind, 16))
                    .col(string_len(Orders::Channel, 32))
                    .col(string_len(Orders::Status, 32))
                    .col(string_len(Orders::PaymentMethod, 32))
                    .col(string_len(Orders::ActivationEmail, 320))
                    .col(text(Orders::HolderJson))
                    .col(string_len(Orders::HolderTaxId, 16))
                    .col(string_len_null(Orders::TargetServiceId, 36))
                    .col(big_integer(Orders::NetCents))
                    .col(big_integer(Orders::VatCents))
                    .col(big_integer(Orders::TotalCents))
                    .col(boolean(Orders::FlaggedForReview))
                    .col(text_null(Orders::ReviewReason))
                    .col(string_len_null(Orders::ServiceId, 36))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Orders::PaidAt))
                    .col(timestamp_with_time_zone_null(Orders::FulfilledAt))
                    .col(timestamp_with_time_zone_null(Orders::CancelledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One order per cart: a double checkout cannot make two.
        manager
            .create_index(
                Index::create()
                    .name("ux_orders_cart")
                    .table(Orders::Table)
                    .col(Orders::CartId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_customer_created")
                    .table(Orders::Table)
                    .col(Orders::CustomerId)
                    .col(Orders::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_status_expires")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .col(Orders::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderLines::Table)
                    .col(string_len(OrderLines::Id, 36).primary_key())
                    .col(string_len(OrderLines::OrderId, 36))
                    .col(integer(OrderLines::Position))
                    .col(string_len(OrderLines::ItemId, 36))
                    .col(string_len(OrderLines::ProductCode, 64))
                    .col(text(OrderLines::Description))
                    .col(string_len(OrderLines::Context, 32))
                    .col(big_integer(OrderLines::UnitPriceCents))
                    .col(integer(OrderLines::Quantity))
                    .col(integer(OrderLines::Years))
                    .col(big_integer_null(OrderLines::Days))
                    .col(date_null(OrderLines::EndsOn))
                    .col(big_integer(OrderLines::NetCents))
                    .col(string_len(OrderLines::VatRate, 16))
                    .col(big_integer(OrderLines::VatCents))
                    .col(big_integer(OrderLines::TotalCents))
                    .col(string_len_null(OrderLines::BaseItemId, 36))
                    .col(string_len_null(OrderLines::TargetServiceId, 36))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderLines::Table, OrderLines::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_lines_order")
                    .table(OrderLines::Table)
                    .col(OrderLines::OrderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(string_len(Counters::Name, 32).primary_key())
                    .col(big_integer(Counters::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Counters::Table)
                    .columns([Counters::Name, Counters::Value])
                    .values_panic(["order".into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AddonClaims::Table)
                    .col(string_len(AddonClaims::ServiceId, 36))
                    .col(string_len(AddonClaims::ProductCode, 64))
                    .col(string_len(AddonClaims::OrderId, 36))
                    .col(timestamp_with_time_zone(AddonClaims::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(AddonClaims::ServiceId)
                            .col(AddonClaims::ProductCode),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string_len(IdempotencyKeys::Id, 36).primary_key())
                    .col(string_len(IdempotencyKeys::Scope, 128))
                    .col(string_len(IdempotencyKeys::IdemKey, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(string_len(IdempotencyKeys::Status, 16))
                    .col(integer_null(IdempotencyKeys::ResponseStatus))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_scope_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::Scope)
                    .col(IdempotencyKeys::IdemKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(string_len(Payments::Id, 36).primary_key())
                    .col(string_len_uniq(Payments::OrderId, 36))
                    .col(string_len(Payments::Source, 16))
                    .col(string_len(Payments::Reference, 255))
                    .col(big_integer(Payments::AmountCents))
                    .col(timestamp_with_time_zone(Payments::PaidAt))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PaymentEvents::Table)
                    .col(string_len(PaymentEvents::EventId, 255).primary_key())
                    .col(string_len(PaymentEvents::OrderNumber, 64))
                    .col(string_len(PaymentEvents::EventType, 64))
                    .col(string_len(PaymentEvents::Outcome, 64))
                    .col(timestamp_with_time_zone(PaymentEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Modules::Table)
                    .col(string_len(Modules::Id, 36).primary_key())
                    .col(string_len(Modules::ServiceId, 36))
                    .col(string_len(Modules::ProductCode, 64))
                    .col(string_len(Modules::State, 32))
                    .col(boolean(Modules::BoughtWithBase))
                    .col(string_len(Modules::OrderId, 36))
                    .col(timestamp_with_time_zone(Modules::CreatedAt))
                    .col(timestamp_with_time_zone(Modules::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // At most one instance of a module per base service (rule 4).
        manager
            .create_index(
                Index::create()
                    .name("ux_modules_service_product")
                    .table(Modules::Table)
                    .col(Modules::ServiceId)
                    .col(Modules::ProductCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Services::Table)
                    .add_column(timestamp_with_time_zone_null(Services::MatchingCompletedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Modules::Table.into_iden(),
            PaymentEvents::Table.into_iden(),
            Payments::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            AddonClaims::Table.into_iden(),
            Counters::Table.into_iden(),
            OrderLines::Table.into_iden(),
            Orders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
