//! An attachment (Allegati) of an imported invoice, decoded.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub invoice_id: String,
    /// From 1, in the file's order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub nome: String,
    pub formato: Option<String>,
    pub descrizione: Option<String>,
    pub size: i64,
    pub content: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
