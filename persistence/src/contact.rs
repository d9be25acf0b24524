//! The contacts (anagrafiche) of a service: `db.contacts()`. Every query
//! names the service, so a contact of another service is not there.

use crate::entity::contact;
use crate::service::parse_id;
use crate::{Database, StoreError, StoreResult, read_as, to_micros};
use chrono::{DateTime, Utc};
use domain::contact::{Contact, ContactKind, ContactRole, IdFiscaleIva};
use domain::email::EmailAddress;
use domain::holder::{Address, HolderName};
use domain::tax_id::CodiceFiscale;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;

/// A stored contact: the checked data, its version (the ETag) and who
/// changed it last, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub contact: Contact,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Uuid,
}

/// What a list asks for; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFilter {
    pub role: Option<ContactRole>,
    /// A prefix of the name key (`domain::contact::name_key`).
    pub name_prefix: Option<String>,
    /// A Partita IVA's code (any country).
    pub partita_iva: Option<String>,
    pub codice_fiscale: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// What became of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    Changed(ContactRecord),
    /// No such contact in this service.
    NotFound,
    /// The contact changed since the version the change was based on.
    VersionDiffers(ContactRecord),
}

/// The contacts of the store: `db.contacts()`.
#[derive(Clone, Copy)]
pub struct Contacts<'a> {
    db: &'a Database,
}

impl Database {
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts { db: self }
    }
}

fn columns(row: &mut contact::ActiveModel, contact: &Contact) {
    let (denominazione, nome, cognome) = match &contact.name {
        HolderName::Denominazione(d) => (Some(d.clone()), None, None),
        HolderName::Persona { nome, cognome } => (None, Some(nome.clone()), Some(cognome.clone())),
    };
    row.role = Set(contact.role.as_str().to_owned());
    row.kind = Set(contact.kind.as_str().to_owned());
    row.denominazione = Set(denominazione);
    row.nome = Set(nome);
    row.cognome = Set(cognome);
    row.name_key = Set(contact.name_key());
    row.piva_paese = Set(contact.partita_iva.as_ref().map(|p| p.paese.clone()));
    row.piva_codice = Set(contact.partita_iva.as_ref().map(|p| p.codice.clone()));
    row.codice_fiscale = Set(contact
        .codice_fiscale
        .as_ref()
        .map(|cf| cf.as_str().to_owned()));
    row.indirizzo = Set(contact.sede.indirizzo.clone());
    row.numero_civico = Set(contact.sede.numero_civico.clone());
    row.cap = Set(contact.sede.cap.clone());
    row.comune = Set(contact.sede.comune.clone());
    row.provincia = Set(contact.sede.provincia.clone());
    row.nazione = Set(contact.sede.nazione.clone());
    row.email = Set(contact.email.as_ref().map(|e| e.as_str().to_owned()));
    row.pec = Set(contact.pec.as_ref().map(|e| e.as_str().to_owned()));
    row.codice_destinatario = Set(contact.codice_destinatario.clone());
}

/// A contact row read by position. `contact::Entity::find()` selects the
/// columns in the order of the model's fields, and this reads them in that
/// order by index. By name, sea-orm looks each of the 25 columns up in a
/// map and formats an error text for every NULL it meets (each optional
/// field left empty): a fifth of the server's time for a page of 50.
struct Positional(contact::Model);

impl sea_orm::FromQueryResult for Positional {
    fn from_query_result(row: &sea_orm::QueryResult, _: &str) -> Result<Self, sea_orm::DbErr> {
        let mut column = 0..;
        let mut next = || column.next().unwrap_or_default();
        // The fields in the order they are declared (and selected).
        Ok(Positional(contact::Model {
            id: row.try_get_by_index(next())?,
            service_id: row.try_get_by_index(next())?,
            role: row.try_get_by_index(next())?,
            kind: row.try_get_by_index(next())?,
            denominazione: row.try_get_by_index(next())?,
            nome: row.try_get_by_index(next())?,
            cognome: row.try_get_by_index(next())?,
            name_key: row.try_get_by_index(next())?,
            piva_paese: row.try_get_by_index(next())?,
            piva_codice: row.try_get_by_index(next())?,
            codice_fiscale: row.try_get_by_index(next())?,
            indirizzo: row.try_get_by_index(next())?,
            numero_civico: row.try_get_by_index(next())?,
            cap: row.try_get_by_index(next())?,
            comune: row.try_get_by_index(next())?,
            provincia: row.try_get_by_index(next())?,
            nazione: row.try_get_by_index(next())?,
            email: row.try_get_by_index(next())?,
            pec: row.try_get_by_index(next())?,
            codice_destinatario: row.try_get_by_index(next())?,
            version: row.try_get_by_index(next())?,
            created_at: row.try_get_by_index(next())?,
            created_by: row.try_get_by_index(next())?,
            updated_at: row.try_get_by_index(next())?,
            updated_by: row.try_get_by_index(next())?,
        }))
    }
}

fn corrupt(row: &contact::Model, what: &str) -> StoreError {
    StoreError::Corrupt(format!("contact {}: unreadable {what}", row.id))
}

fn to_record(row: contact::Model) -> StoreResult<ContactRecord> {
    let name = match (&row.denominazione, &row.nome, &row.cognome) {
        (Some(d), None, None) => HolderName::Denominazione(d.clone()),
        (None, Some(nome), Some(cognome)) => HolderName::Persona {
            nome: nome.clone(),
            cognome: cognome.clone(),
        },
        _ => return Err(corrupt(&row, "name")),
    };
    let partita_iva = match (&row.piva_paese, &row.piva_codice) {
        (Some(paese), Some(codice)) => Some(IdFiscaleIva {
            paese: paese.clone(),
            codice: codice.clone(),
        }),
        (None, None) => None,
        _ => return Err(corrupt(&row, "partita_iva")),
    };
    let codice_fiscale = match &row.codice_fiscale {
        Some(cf) => Some(CodiceFiscale::parse(cf).map_err(|_| corrupt(&row, "codice_fiscale"))?),
        None => None,
    };
    let email = |value: &Option<String>, what: &str| match value {
        Some(text) => EmailAddress::parse(text)
            .map(Some)
            .map_err(|_| corrupt(&row, what)),
        None => Ok(None),
    };
    let contact = Contact {
        role: read_as(&row.role, "contact role", ContactRole::parse)?,
        kind: read_as(&row.kind, "contact kind", ContactKind::parse)?,
        name,
        partita_iva,
        codice_fiscale,
        sede: Address {
            indirizzo: row.indirizzo.clone(),
            numero_civico: row.numero_civico.clone(),
            cap: row.cap.clone(),
            comune: row.comune.clone(),
            provincia: row.provincia.clone(),
            nazione: row.nazione.clone(),
        },
        email: email(&row.email, "email")?,
        pec: email(&row.pec, "pec")?,
        codice_destinatario: row.codice_destinatario.clone(),
    };
    Ok(ContactRecord {
        id: parse_id(&row.id)?,
        service_id: parse_id(&row.service_id)?,
        contact,
        version: row.version,
        created_at: row.created_at,
        created_by: parse_id(&row.created_by)?,
        updated_at: row.updated_at,
        updated_by: parse_id(&row.updated_by)?,
    })
}

/// The end of a prefix's range of name keys: every key that starts with
/// `prefix` is at least `prefix` and less than this.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// Rows per statement of a bulk insert: 26 columns each stay well under
/// both databases' limits on bound values.
const INSERT_CHUNK: usize = 500;

/// A new row's bookkeeping columns; [`columns`] fills the contact's.
fn new_row(id: Uuid, service: Uuid, by: Uuid, now: DateTime<Utc>) -> contact::ActiveModel {
    contact::ActiveModel {
        id: Set(id.to_string()),
        service_id: Set(service.to_string()),
        version: Set(1),
        created_at: Set(now),
        created_by: Set(by.to_string()),
        updated_at: Set(now),
        updated_by: Set(by.to_string()),
        ..Default::default()
    }
}

/// The list's query: the service's contacts matching `filter`, by name,
/// after the cursor's (name_key, id).
fn list_select(
    service: Uuid,
    filter: &ContactFilter,
    after: Option<&(String, Uuid)>,
    limit: u64,
) -> sea_orm::Select<contact::Entity> {
    let mut select =
        contact::Entity::find().filter(contact::Column::ServiceId.eq(service.to_string()));
    if let Some(role) = filter.role {
        select = select.filter(contact::Column::Role.eq(role.as_str()));
    }
    if let Some(prefix) = &filter.name_prefix {
        select = select
            .filter(contact::Column::NameKey.gte(prefix.as_str()))
            .filter(contact::Column::NameKey.lt(prefix_end(prefix)));
    }
    if let Some(codice) = &filter.partita_iva {
        select = select.filter(contact::Column::PivaCodice.eq(codice.as_str()));
    }
    if let Some(cf) = &filter.codice_fiscale {
        select = select.filter(contact::Column::CodiceFiscale.eq(cf.as_str()));
    }
    if let Some(since) = filter.updated_since {
        select = select.filter(contact::Column::UpdatedAt.gte(since));
    }
    if let Some((name_key, id)) = after {
        // After (name_key, id): a range of the index from name_key on.
        select = select
            .filter(contact::Column::NameKey.gte(name_key.as_str()))
            .filter(
                Condition::any()
                    .add(contact::Column::NameKey.gt(name_key.as_str()))
                    .add(contact::Column::Id.gt(id.to_string())),
            );
    }
    select
        .order_by_asc(contact::Column::NameKey)
        .order_by_asc(contact::Column::Id)
        .limit(limit)
}

impl Contacts<'_> {
    /// Stores a new contact of `service`, made by panel user `by`.
    pub async fn insert_contact(
        &self,
        service: Uuid,
        contact: &Contact,
        by: Uuid,
    ) -> StoreResult<ContactRecord> {
        let now = to_micros(Utc::now());
        let id = Uuid::new_v4();
        let mut row = new_row(id, service, by, now);
        columns(&mut row, contact);
        contact::Entity::insert(row)
            .exec_without_returning(self.db.conn())
            .await?;
        Ok(ContactRecord {
            id,
            service_id: service,
            contact: contact.clone(),
            version: 1,
            created_at: now,
            created_by: by,
            updated_at: now,
            updated_by: by,
        })
    }

    pub async fn find_contact(
        &self,
        service: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<ContactRecord>> {
        contact::Entity::find()
            .filter(contact::Column::ServiceId.eq(service.to_string()))
            .filter(contact::Column::Id.eq(id.to_string()))
            .into_model::<Positional>()
            .one(&self.db.reads())
            .await?
            .map(|row| to_record(row.0))
            .transpose()
    }

    /// A page of the service's contacts in the order of their name (then
    /// id), after the cursor's (name_key, id): a position in that order, so
    /// contacts added meanwhile never make a later page repeat or skip one.
    pub async fn list_contacts(
        &self,
        service: Uuid,
        filter: &ContactFilter,
        after: Option<&(String, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<ContactRecord>> {
        list_select(service, filter, after, limit)
            .into_model::<Positional>()
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(|row| to_record(row.0))
            .collect()
    }

    /// How the database runs a list (EXPLAIN), one line per plan line: for
    /// operators and the benchmark.
    pub async fn explain_list_contacts(
        &self,
        service: Uuid,
        filter: &ContactFilter,
        limit: u64,
    ) -> StoreResult<Vec<String>> {
        use sea_orm::{ConnectionTrait, QueryTrait, Statement};
        let backend = self.db.conn().get_database_backend();
        let query = list_select(service, filter, None, limit).build(backend);
        let (explain, column) = match self.db.backend() {
            crate::Backend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
            crate::Backend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        };
        let statement = Statement::from_sql_and_values(
            backend,
            format!("{explain}{}", query.sql),
            query.values.map(|v| v.0).unwrap_or_default(),
        );
        self.db
            .conn()
            .query_all_raw(statement)
            .await?
            .iter()
            .map(|row| row.try_get::<String>("", column).map_err(StoreError::from))
            .collect()
    }

    /// Stores many new contacts of `service` at once (a chunk per
    /// statement), made by panel user `by`; returns how many.
    pub async fn insert_contacts(
        &self,
        service: Uuid,
        contacts: &[Contact],
        by: Uuid,
    ) -> StoreResult<u64> {
        let now = to_micros(Utc::now());
        for chunk in contacts.chunks(INSERT_CHUNK) {
            let rows = chunk.iter().map(|contact| {
                let mut row = new_row(Uuid::new_v4(), service, by, now);
                columns(&mut row, contact);
                row
            });
            contact::Entity::insert_many(rows)
                .exec_without_returning(self.db.conn())
                .await?;
        }
        Ok(contacts.len() as u64)
    }

    /// Replaces the contact's data, if it is still at `expected`: one
    /// conditional update, so of two changes based on the same version
    /// only one is made.
    pub async fn update_contact(
        &self,
        service: Uuid,
        id: Uuid,
        expected: i64,
        contact: &Contact,
        by: Uuid,
    ) -> StoreResult<ContactChange> {
        let now = to_micros(Utc::now());
        let mut row = contact::ActiveModel {
            id: NotSet,
            service_id: NotSet,
            version: NotSet,
            created_at: NotSet,
            created_by: NotSet,
            updated_at: Set(now),
            updated_by: Set(by.to_string()),
            ..Default::default()
        };
        columns(&mut row, contact);
        let update = contact::Entity::update_many()
            .set(row)
            .col_expr(
                contact::Column::Version,
                Expr::col(contact::Column::Version).add(1),
            )
            .filter(contact::Column::ServiceId.eq(service.to_string()))
            .filter(contact::Column::Id.eq(id.to_string()))
            .filter(contact::Column::Version.eq(expected));
        // The row as this update left it (RETURNING, on both databases).
        if let Some(row) = update
            .exec_with_returning(self.db.conn())
            .await?
            .into_iter()
            .next()
        {
            return Ok(ContactChange::Changed(to_record(row)?));
        }
        Ok(match self.find_contact(service, id).await? {
            None => ContactChange::NotFound,
            Some(record) => ContactChange::VersionDiffers(record),
        })
    }

    /// Deletes the contact; false when it is not there. A contact that
    /// invoices point to is refused by their foreign key
    /// (`StoreError::Referenced`).
    pub async fn delete_contact(&self, service: Uuid, id: Uuid) -> StoreResult<bool> {
        let deleted = contact::Entity::delete_many()
            .filter(contact::Column::ServiceId.eq(service.to_string()))
            .filter(contact::Column::Id.eq(id.to_string()))
            .exec(self.db.conn())
            .await?;
        Ok(deleted.rows_affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{IdenStatic, Iterable};

    #[test]
    fn the_positional_reader_follows_the_columns_that_find_selects() {
        // `Positional` reads these, in this order: a column added to the
        // model must be added there at its place too.
        let read = [
            "id",
            "service_id",
            "role",
            "kind",
            "denominazione",
            "nome",
            "cognome",
            "name_key",
            "piva_paese",
            "piva_codice",
            "codice_fiscale",
            "indirizzo",
            "numero_civico",
            "cap",
            "comune",
            "provincia",
            "nazione",
            "email",
            "pec",
            "codice_destinatario",
            "version",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
        ];
        let selected: Vec<&str> = contact::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(selected, read);
    }
}
