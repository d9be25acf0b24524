//! An e-mail in the outbox: queued, claimed by a worker under a lease, sent.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_emails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    /// Until sent it may hold a temporary password; replaced once sent.
    pub body_text: String,
    pub created_at: ChronoDateTimeUtc,
    pub attempts: i32,
    pub next_attempt_at: ChronoDateTimeUtc,
    pub claimed_until: Option<ChronoDateTimeUtc>,
    pub claimed_by: Option<String>,
    pub sent_at: Option<ChronoDateTimeUtc>,
    pub last_error: Option<String>,
    pub order_id: Option<String>,
}

// The body may hold a temporary password: Debug leaves it out.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("claimed_until", &self.claimed_until)
            .field("claimed_by", &self.claimed_by)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
