//! A customer-area account with its holder data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub password_hash: String,
    pub holder_kind: String,
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    pub codice_fiscale: String,
    pub partita_iva: Option<String>,
    pub indirizzo: String,
    pub numero_civico: String,
    pub cap: String,
    pub comune: String,
    pub provincia: String,
    pub nazione: String,
    pub phone: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
