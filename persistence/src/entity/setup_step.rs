//! A saved step of the FE configuration wizard: one per service and step.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "setup_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub step: String,
    /// The step's body as the API's canonical JSON, stored opaquely.
    pub data: String,
    pub saved_at: ChronoDateTimeUtc,
    /// The panel user who saved it.
    pub saved_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
