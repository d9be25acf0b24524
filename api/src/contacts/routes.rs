//! The contacts of the panel user's service: `GET/POST /v1/panel/contacts`,
//! `GET/PATCH/DELETE /v1/panel/contacts/{id}`.

use super::TAG;
use super::dto::{ContactBody, ContactDto, ContactKindDto, ContactRoleDto, PartitaIvaDto, etag};
use super::errors::ContactError;
use crate::http::codes::ErrorCode;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::http::query::{Query, QueryParams};
use crate::setup::gate::ConfiguredPanel;
use crate::shared::holder::AddressDto;
use crate::shared::pagination::{self, PageQuery};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use domain::contact::{IdFiscaleIva, name_key};
use persistence::Database;
use persistence::contact::{ContactChange, ContactFilter, ContactRecord};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// How many times a `PATCH` without `If-Match` merges again when the
/// contact changed between its read and its write.
const PATCH_ATTEMPTS: usize = 3;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
    pub role: Option<ContactRoleDto>,
    /// A prefix of the name (the denominazione, or cognome and nome),
    /// whatever its case.
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// A Partita IVA's code (any country), as stored: upper case, no spaces.
    #[param(min_length = 1, max_length = 40)]
    pub partita_iva: Option<String>,
    #[param(min_length = 1, max_length = 16)]
    pub codice_fiscale: Option<String>,
    /// Only contacts changed at or after this time (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page. It names a position in the
    /// list's order (the name key in hex and the id of the last contact
    /// seen), so any value of this pattern is a valid cursor.
    #[param(
        max_length = 1900,
        pattern = r"^([0-9a-f]{2}){0,900}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
}

impl QueryParams for ContactListQuery {
    fn expected(name: &str) -> Option<&'static str> {
        match name {
            "role" => Some("role is cliente or fornitore"),
            "updated_since" => Some("updated_since is an RFC 3339 time (2026-01-31T12:00:00Z)"),
            other => PageQuery::expected(other),
        }
    }
}

impl ContactListQuery {
    /// The position after which the page starts: (name key, id).
    fn after(&self) -> Result<Option<(String, Uuid)>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let (key, id) = pagination::cursor_parts(cursor)?;
        let bytes = hex::decode(key).map_err(|_| pagination::invalid_cursor())?;
        // Any text is a position in the byte order of the keys.
        Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), id)))
    }

    fn filter(&self) -> Result<ContactFilter, ApiError> {
        let text = |pointer: &str, value: &Option<String>, max: usize| match value
            .as_deref()
            .map(str::trim)
        {
            None => Ok(None),
            Some(t) if !t.is_empty() && t.chars().count() <= max => Ok(Some(t.to_owned())),
            Some(_) => Err(ApiError::field(
                pointer,
                ErrorCode::InvalidLength,
                format!("1 to {max} characters"),
            )),
        };
        let q = text("/q", &self.q, 100)?;
        let partita_iva = text("/partita_iva", &self.partita_iva, 40)?;
        let codice_fiscale = text("/codice_fiscale", &self.codice_fiscale, 16)?;
        Ok(ContactFilter {
            role: self.role.map(Into::into),
            name_prefix: q.map(|q| name_key(&q)),
            // Searched as stored: a code with spaces or in lower case is
            // the same code.
            partita_iva: partita_iva.map(|p| IdFiscaleIva::normalise("", &p).1),
            codice_fiscale: codice_fiscale.map(|cf| cf.to_ascii_uppercase()),
            updated_since: self.updated_since,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<ContactDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(nullable)]
    pub next_cursor: Option<String>,
}

/// Reads a field that may be sent as `null`: `Some(None)` then, `None`
/// when absent (with `#[serde(default)]`).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change of a contact (JSON merge patch, RFC 7396): each field sent
/// replaces the stored one, `null` removes an optional one, the rest stay.
/// The result is checked as a whole, like a new contact.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub role: Option<ContactRoleDto>,
    pub kind: Option<ContactKindDto>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub denominazione: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub nome: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub cognome: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<PartitaIvaDto>)]
    pub partita_iva: Option<Option<PartitaIvaDto>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 16)]
    pub codice_fiscale: Option<Option<String>>,
    pub sede: Option<AddressDto>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub pec: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 7, max_length = 7)]
    pub codice_destinatario: Option<Option<String>>,
}

impl Validate for ContactPatch {
    fn validate(&self) -> Vec<FieldError> {
        // Lengths are checked on the merged body.
        Vec::new()
    }
}

impl ContactPatch {
    /// `current` with this patch merged in.
    fn merged(&self, current: &ContactBody) -> ContactBody {
        fn replace<T: Clone>(field: &mut Option<T>, patch: &Option<Option<T>>) {
            if let Some(value) = patch {
                field.clone_from(value);
            }
        }
        let mut body = current.clone();
        if let Some(role) = self.role {
            body.role = role;
        }
        if let Some(kind) = self.kind {
            body.kind = kind;
        }
        replace(&mut body.denominazione, &self.denominazione);
        replace(&mut body.nome, &self.nome);
        replace(&mut body.cognome, &self.cognome);
        replace(&mut body.partita_iva, &self.partita_iva);
        replace(&mut body.codice_fiscale, &self.codice_fiscale);
        if let Some(sede) = &self.sede {
            body.sede = sede.clone();
        }
        replace(&mut body.email, &self.email);
        replace(&mut body.pec, &self.pec);
        replace(&mut body.codice_destinatario, &self.codice_destinatario);
        body
    }
}

/// The cursor after `record`: its place in the list's order.
fn cursor(record: &ContactRecord) -> String {
    format!("{}_{}", hex::encode(record.contact.name_key()), record.id)
}

fn with_etag(mut response: actix_web::HttpResponseBuilder, record: &ContactRecord) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(&etag(record.version)) {
        response.insert_header((header::ETAG, value));
    }
    response.json(ContactDto::of(record))
}

/// The versions an `If-Match` header names: `None` for none or `*`
/// (any version), else the listed ETags' numbers (one that is not ours
/// matches no version).
fn if_match(req: &HttpRequest) -> Result<Option<Vec<i64>>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::field(
            "If-Match",
            ErrorCode::InvalidValue,
            "If-Match is an ETag of this contact, in quotes",
        )
    })?;
    if text.trim() == "*" {
        return Ok(None);
    }
    Ok(Some(
        text.split(',')
            .filter_map(|tag| {
                tag.trim()
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i64>().ok())
            })
            .collect(),
    ))
}

/// List contacts.
///
/// The service's contacts in the order of their name (the denominazione,
/// or cognome and nome; case aside), filtered; a page after the cursor
/// neither repeats nor skips a contact when others are added.
#[utoipa::path(
    operation_id = "listContacts",
    tag = TAG,
    security(("panel" = [])),
    params(ContactListQuery),
    responses(
        (status = 200, description = "A page of contacts", body = ContactPage),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/contacts")]
pub async fn list(
    query: Query<ContactListQuery>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = query.after()?;
    let filter = query.filter()?;
    let service = panel.service.id;
    let contacts = db
        .contacts()
        .list_contacts(service, &filter, after.as_ref(), limit)
        .await?;
    let next_cursor = (contacts.len() as u64 == limit)
        .then(|| contacts.last().map(cursor))
        .flatten();
    Ok(HttpResponse::Ok().json(ContactPage {
        items: contacts.iter().map(ContactDto::of).collect(),
        next_cursor,
    }))
}

/// Add a contact.
///
/// A customer (`cliente`) or supplier (`fornitore`) of the service.
/// Duplicates are allowed: the matching procedure merges them.
#[utoipa::path(
    operation_id = "createContact",
    tag = TAG,
    security(("panel" = [])),
    request_body(content = ContactBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The contact", body = ContactDto,
            headers(
                ("Location" = String, description = "The contact's URL"),
                ("ETag" = String, description = "The contact's version, for If-Match"),
            )),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, every one at its pointer (`required`, `not_allowed`, `too_long`, `invalid_partita_iva`, `invalid_codice_fiscale`, `invalid_cap`, `invalid_provincia`, `invalid_nazione`, `invalid_email`, `invalid_codice_destinatario`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/panel/contacts")]
pub async fn create(
    db: web::Data<Database>,
    panel: ConfiguredPanel,
    body: Json<ContactBody>,
) -> Result<HttpResponse, ApiError> {
    let service = panel.service.id;
    let contact = body.0.parse().map_err(ApiError::validation)?;
    let record = db
        .contacts()
        .insert_contact(service, &contact, panel.user.id)
        .await?;
    tracing::info!(contact_id = %record.id, service_id = %service, "contact added");
    let mut response = HttpResponse::Created();
    response.insert_header((
        header::LOCATION,
        format!("/v1/panel/contacts/{}", record.id),
    ));
    Ok(with_etag(response, &record))
}

/// Get a contact.
#[utoipa::path(
    operation_id = "getContact",
    tag = TAG,
    security(("panel" = [])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 200, description = "The contact", body = ContactDto,
            headers(("ETag" = String, description = "The contact's version, for If-Match"))),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact in this service (`contact_not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/contacts/{id}")]
pub async fn get(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let service = panel.service.id;
    let record = db
        .contacts()
        .find_contact(service, *id)
        .await?
        .ok_or(ContactError::NotFound(*id))?;
    Ok(with_etag(HttpResponse::Ok(), &record))
}

/// Change a contact.
///
/// A JSON merge patch (RFC 7396): the fields sent replace the stored ones,
/// `null` removes an optional one; the result is checked as a whole. With
/// `If-Match` (an ETag of this contact) the change is made only if the
/// contact is still at that version, else 412.
#[utoipa::path(
    operation_id = "updateContact",
    tag = TAG,
    security(("panel" = [])),
    params(
        ("id" = Uuid, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body(content = ContactPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The contact as changed", body = ContactDto,
            headers(("ETag" = String, description = "The contact's new version"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact in this service (`contact_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact kept changing while this change was merged (`conflict`); send it again", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The contact changed since the If-Match version (`precondition_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields of the merged contact, every one at its pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/panel/contacts/{id}")]
pub async fn update(
    req: HttpRequest,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
    body: Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let wanted = if_match(&req)?;
    let service = panel.service.id;
    let mut current = db
        .contacts()
        .find_contact(service, id)
        .await?
        .ok_or(ContactError::NotFound(id))?;
    for _ in 0..PATCH_ATTEMPTS {
        // The change is checked first: a refused one is 422 whatever the
        // version it names.
        let merged = body.0.merged(&ContactBody::of(&current.contact));
        let errors = merged.validate();
        let contact = if errors.is_empty() {
            merged.parse()
        } else {
            Err(errors)
        }
        .map_err(ApiError::validation)?;
        if wanted
            .as_ref()
            .is_some_and(|versions| !versions.contains(&current.version))
        {
            return Err(ContactError::VersionDiffers(current.version).into());
        }
        match db
            .contacts()
            .update_contact(service, id, current.version, &contact, panel.user.id)
            .await?
        {
            ContactChange::Changed(record) => {
                tracing::info!(contact_id = %id, version = record.version, "contact changed");
                return Ok(with_etag(HttpResponse::Ok(), &record));
            }
            ContactChange::NotFound => return Err(ContactError::NotFound(id).into()),
            ContactChange::VersionDiffers(newer) if wanted.is_some() => {
                return Err(ContactError::VersionDiffers(newer.version).into());
            }
            // Changed between the read and the write: merge into the
            // newer version (the update read it back).
            ContactChange::VersionDiffers(newer) => current = newer,
        }
    }
    Err(ContactError::KeptChanging(id).into())
}

/// Delete a contact.
///
/// A contact that invoices point to cannot be deleted (`contact_in_use`).
#[utoipa::path(
    operation_id = "deleteContact",
    tag = TAG,
    security(("panel" = [])),
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contact in this service (`contact_not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Invoices point to the contact (`contact_in_use`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/panel/contacts/{id}")]
pub async fn remove(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let service = panel.service.id;
    match db.contacts().delete_contact(service, *id).await {
        Ok(true) => {
            tracing::info!(contact_id = %id, "contact deleted");
            Ok(HttpResponse::NoContent().finish())
        }
        Ok(false) => Err(ContactError::NotFound(*id).into()),
        Err(persistence::StoreError::Referenced(_)) => Err(ContactError::InUse(*id).into()),
        Err(error) => Err(error.into()),
    }
}
