//! An imported FatturaPA file as it arrived: the bodies of a lotto share it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub service_id: String,
    /// `application/xml` or `application/pkcs7-mime`.
    pub content_type: String,
    /// The name it had in a zip, if it came in one.
    pub file_name: Option<String>,
    pub size: i64,
    pub content: Vec<u8>,
    pub created_at: ChronoDateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
