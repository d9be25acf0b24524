//! An order: frozen priced lines and totals, its payment state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub customer_id: String,
    pub cart_id: Option<String>,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub payment_method: String,
    pub activation_email: String,
    pub holder_json: String,
    pub holder_tax_id: String,
    pub target_service_id: Option<String>,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub flagged_for_review: bool,
    pub review_reason: Option<String>,
    pub service_id: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub expires_at: ChronoDateTimeUtc,
    pub paid_at: Option<ChronoDateTimeUtc>,
    pub fulfilled_at: Option<ChronoDateTimeUtc>,
    pub cancelled_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order_line::Entity")]
    Lines,
    #[sea_orm(has_many = "super::payment_receipt::Entity")]
    Receipts,
}

impl Related<super::order_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lines.def()
    }
}

impl Related<super::payment_receipt::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Receipts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
