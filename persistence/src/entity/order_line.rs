//! A frozen, priced order line.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub position: i32,
    pub item_id: String,
    pub product_code: String,
    pub description: String,
    pub context: String,
    pub unit_price_cents: i64,
    pub quantity: i32,
    pub years: i32,
    pub days: Option<i64>,
    pub ends_on: Option<ChronoDate>,
    pub net_cents: i64,
    pub vat_rate: String,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub base_item_id: Option<String>,
    pub target_service_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id"
    )]
    Order,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
