//! A background job's row: due, claimed by a runner under a lease, done
//! (see `persistence::jobs`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub created_at: ChronoDateTimeUtc,
    pub due_at: ChronoDateTimeUtc,
    pub attempts: i32,
    pub claimed_until: Option<ChronoDateTimeUtc>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub done_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
