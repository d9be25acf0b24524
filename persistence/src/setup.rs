//! The FE configuration wizard's saved steps (`setup_steps`) and the move
//! that completes it (the service `awaiting_configuration` → `active`).
//! A step's body is stored as the JSON text the api gives, opaquely: this
//! module decides nothing about it.

use crate::entity::{service, setup_step};
use crate::service::parse_id;
use crate::{Database, StoreResult, to_micros};
use chrono::{DateTime, Utc};
use domain::ServiceStatus;
use domain::wizard::Step;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set,
};
use uuid::Uuid;

/// One saved step of a service's wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStepRecord {
    pub step: Step,
    /// The body as the api serialised it.
    pub data: String,
    pub saved_at: DateTime<Utc>,
    /// The panel user who saved it.
    pub saved_by: Uuid,
}

fn to_record(row: setup_step::Model) -> StoreResult<SetupStepRecord> {
    Ok(SetupStepRecord {
        step: crate::read_as(&row.step, "setup step", Step::parse)?,
        data: row.data,
        saved_at: row.saved_at,
        saved_by: parse_id(&row.saved_by)?,
    })
}

/// The wizards of the store: `db.setup()`.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    db: &'a Database,
}

impl Database {
    pub fn setup(&self) -> Setup<'_> {
        Setup { db: self }
    }
}

impl Setup<'_> {
    /// The service's saved steps, in the wizard's order.
    pub async fn steps_of(&self, service_id: Uuid) -> StoreResult<Vec<SetupStepRecord>> {
        let mut steps = setup_step::Entity::find()
            .filter(setup_step::Column::ServiceId.eq(service_id.to_string()))
            .order_by_asc(setup_step::Column::Step)
            .all(self.db.conn())
            .await?
            .into_iter()
            .map(to_record)
            .collect::<StoreResult<Vec<_>>>()?;
        steps.sort_by_key(|s| s.step);
        Ok(steps)
    }

    /// Saves a step's body: one upsert on (service, step), so saving it
    /// again replaces it and leaves one row. Returns what was written.
    pub async fn save_step(
        &self,
        service_id: Uuid,
        step: Step,
        data: &str,
        saved_by: Uuid,
    ) -> StoreResult<SetupStepRecord> {
        let saved_at = to_micros(Utc::now());
        let row = setup_step::ActiveModel {
            service_id: Set(service_id.to_string()),
            step: Set(step.as_str().to_owned()),
            data: Set(data.to_owned()),
            saved_at: Set(saved_at),
            saved_by: Set(saved_by.to_string()),
        };
        let upsert = setup_step::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([setup_step::Column::ServiceId, setup_step::Column::Step])
                    .update_columns([
                        setup_step::Column::Data,
                        setup_step::Column::SavedAt,
                        setup_step::Column::SavedBy,
                    ])
                    .to_owned(),
            )
            .into_query();
        self.db.conn().execute(&upsert).await?;
        Ok(SetupStepRecord {
            step,
            data: data.to_owned(),
            saved_at,
            saved_by,
        })
    }

    /// Completes the wizard: the service moves `awaiting_configuration` →
    /// `active` by one conditional update. `false` when it was not
    /// awaiting configuration (already active, or another state): the
    /// caller reads it again to tell which.
    pub async fn activate_service(&self, service_id: Uuid) -> StoreResult<bool> {
        let updated = service::Entity::update_many()
            .col_expr(
                service::Column::Status,
                Expr::value(ServiceStatus::Active.as_str()),
            )
            .col_expr(service::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(service::Column::Id.eq(service_id.to_string()))
            .filter(service::Column::Status.eq(ServiceStatus::AwaitingConfiguration.as_str()))
            .exec(self.db.conn())
            .await?;
        Ok(updated.rows_affected == 1)
    }
}
