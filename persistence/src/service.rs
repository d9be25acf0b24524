//! Base services (FE) that customers own.

use crate::entity::service;
use crate::{Database, StoreError, StoreResult};
use chrono::{DateTime, NaiveDate, Utc};
use domain::ServiceStatus;
use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product_code: String,
    pub status: ServiceStatus,
    /// The holder's Partita IVA, or the Codice Fiscale when there is none.
    pub holder_tax_id: String,
    pub codice_destinatario: String,
    pub expires_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product_code: String,
    pub status: ServiceStatus,
    pub holder_tax_id: String,
    pub codice_destinatario: String,
    pub expires_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    /// When "Abbina anagrafiche e fatture" was last completed, if ever.
    pub matching_completed_at: Option<DateTime<Utc>>,
}

/// A UUID read back from a text column.
pub(crate) fn parse_id(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("bad uuid `{text}`")))
}

pub(crate) fn to_record(row: service::Model) -> StoreResult<ServiceRecord> {
    Ok(ServiceRecord {
        id: parse_id(&row.id)?,
        customer_id: parse_id(&row.customer_id)?,
        status: crate::read_as(&row.status, "service status", ServiceStatus::parse)?,
        product_code: row.product_code,
        holder_tax_id: row.holder_tax_id,
        codice_destinatario: row.codice_destinatario,
        expires_on: row.expires_on,
        created_at: row.created_at,
        matching_completed_at: row.matching_completed_at,
    })
}

/// The services of the store: `db.services()`.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    db: &'a Database,
}

impl Database {
    pub fn services(&self) -> Services<'_> {
        Services { db: self }
    }
}

impl Services<'_> {
    /// Stores a new service; the customer must exist (foreign key).
    pub async fn insert_service(&self, new: &NewService) -> StoreResult<ServiceRecord> {
        let now = Utc::now();
        let row = service::ActiveModel {
            id: Set(new.id.to_string()),
            customer_id: Set(new.customer_id.to_string()),
            product_code: Set(new.product_code.clone()),
            status: Set(new.status.as_str().to_owned()),
            holder_tax_id: Set(new.holder_tax_id.clone()),
            codice_destinatario: Set(new.codice_destinatario.clone()),
            expires_on: Set(new.expires_on),
            created_at: Set(now),
            updated_at: Set(now),
            matching_completed_at: Set(None),
        }
        .insert(self.db.conn())
        .await?;
        to_record(row)
    }

    pub async fn find_service(&self, id: Uuid) -> StoreResult<Option<ServiceRecord>> {
        service::Entity::find_by_id(id.to_string())
            .one(&self.db.reads())
            .await?
            .map(to_record)
            .transpose()
    }

    /// The customer's services, oldest first.
    pub async fn services_of_customer(&self, customer_id: Uuid) -> StoreResult<Vec<ServiceRecord>> {
        self.services_where(service::Column::CustomerId.eq(customer_id.to_string()))
            .await
    }

    /// Those of `ids` that belong to the customer, oldest first.
    pub async fn services_of_customer_among(
        &self,
        customer_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<ServiceRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.services_where(
            Condition::all()
                .add(service::Column::CustomerId.eq(customer_id.to_string()))
                .add(service::Column::Id.is_in(ids.iter().map(ToString::to_string))),
        )
        .await
    }

    async fn services_where(
        &self,
        condition: impl IntoCondition,
    ) -> StoreResult<Vec<ServiceRecord>> {
        service::Entity::find()
            .filter(condition)
            .order_by_asc(service::Column::CreatedAt)
            .order_by_asc(service::Column::Id)
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(to_record)
            .collect()
    }
}
