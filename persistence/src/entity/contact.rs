//! A contact (anagrafica) of a service: a customer or a supplier.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub service_id: String,
    pub role: String,
    pub kind: String,
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    /// The display name in lower case: what the name filter compares.
    pub name_key: String,
    pub piva_paese: Option<String>,
    pub piva_codice: Option<String>,
    pub codice_fiscale: Option<String>,
    pub indirizzo: String,
    pub numero_civico: String,
    pub cap: String,
    pub comune: String,
    pub provincia: String,
    pub nazione: String,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub codice_destinatario: Option<String>,
    /// Grows at every change: the contact's ETag.
    pub version: i64,
    pub created_at: ChronoDateTimeUtc,
    pub created_by: String,
    pub updated_at: ChronoDateTimeUtc,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
