//! One imported invoice (a `FatturaElettronicaBody` of a file): the columns
//! lists filter on, the rest as JSON text (`details`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub service_id: String,
    pub file_id: String,
    /// Its place among the file's bodies, from 1.
    pub body_index: i32,
    pub direction: String,
    pub format: String,
    pub tipo_documento: String,
    pub numero: String,
    /// The number in lower case: what `q` compares.
    pub numero_key: String,
    pub data: ChronoDate,
    /// The year of `data`: part of the unique key.
    pub anno: i32,
    pub divisa: String,
    /// A decimal, exactly as the file wrote it (or as computed).
    pub importo_totale: String,
    pub seller_paese: String,
    pub seller_codice: String,
    pub counterpart_name: String,
    /// The counterpart's name in lower case: what `q` compares.
    pub counterpart_key: String,
    pub counterpart_piva: Option<String>,
    pub counterpart_cf: Option<String>,
    pub contact_id: Option<String>,
    pub details: String,
    pub created_at: ChronoDateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
