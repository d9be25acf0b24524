//! The login attempts counted against one throttle key in its current
//! window (see `LoginAttempts::admit_login_attempt`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub throttle_key: String,
    pub window_started_at: ChronoDateTimeUtc,
    /// Attempts admitted in the window and not released (a success
    /// releases its own).
    pub attempts: i64,
    /// The limit the last attempt was counted against.
    pub attempt_limit: i64,
    /// Whether the last attempt was admitted: what the upsert reports.
    pub admitted: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
