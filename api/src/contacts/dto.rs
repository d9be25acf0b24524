//! A contact as the API takes and shows it (the matching procedure and the
//! invoices will show it too).

use crate::http::json::Validate;
use crate::http::problem::FieldError;
use crate::shared::holder::AddressDto;
use chrono::{DateTime, Utc};
use domain::contact::{Contact, ContactInput, ContactKind, ContactRole, IdFiscaleIvaInput};
use domain::holder::HolderName;
use persistence::contact::ContactRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRoleDto {
    Cliente,
    Fornitore,
}

impl From<ContactRoleDto> for ContactRole {
    fn from(role: ContactRoleDto) -> Self {
        match role {
            ContactRoleDto::Cliente => ContactRole::Cliente,
            ContactRoleDto::Fornitore => ContactRole::Fornitore,
        }
    }
}

impl From<ContactRole> for ContactRoleDto {
    fn from(role: ContactRole) -> Self {
        match role {
            ContactRole::Cliente => ContactRoleDto::Cliente,
            ContactRole::Fornitore => ContactRoleDto::Fornitore,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKindDto {
    PersonaFisica,
    PersonaGiuridica,
}

impl From<ContactKindDto> for ContactKind {
    fn from(kind: ContactKindDto) -> Self {
        match kind {
            ContactKindDto::PersonaFisica => ContactKind::PersonaFisica,
            ContactKindDto::PersonaGiuridica => ContactKind::PersonaGiuridica,
        }
    }
}

impl From<ContactKind> for ContactKindDto {
    fn from(kind: ContactKind) -> Self {
        match kind {
            ContactKind::PersonaFisica => ContactKindDto::PersonaFisica,
            ContactKind::PersonaGiuridica => ContactKindDto::PersonaGiuridica,
        }
    }
}

/// A VAT id (FatturaPA's IdFiscaleIVA): Italian codes are Partite IVA
/// with their check digit; others 1 to 28 letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitaIvaDto {
    /// ISO 3166-1 alpha-2.
    #[schema(example = "IT", min_length = 2, max_length = 2)]
    pub paese: String,
    #[schema(example = "01234567897", min_length = 1, max_length = 40)]
    pub codice: String,
}

/// A contact as sent (`POST`), and what a `PATCH` merges into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    pub role: ContactRoleDto,
    pub kind: ContactKindDto,
    /// Persona giuridica: the company name.
    #[schema(example = "Rossi Forniture S.r.l.", max_length = 200)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominazione: Option<String>,
    /// Persona fisica.
    #[schema(example = json!(null), max_length = 100)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    /// Persona fisica.
    #[schema(example = json!(null), max_length = 100)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognome: Option<String>,
    /// At least one of `partita_iva` and `codice_fiscale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partita_iva: Option<PartitaIvaDto>,
    /// 16 characters with its check character, or 11 digits.
    #[schema(example = json!(null), max_length = 16)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    pub sede: AddressDto,
    #[schema(example = "amministrazione@rossiforniture.it", max_length = 254)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[schema(example = json!(null), max_length = 254)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pec: Option<String>,
    /// The SdI's 7-character codice destinatario.
    #[schema(example = "ABC1234", min_length = 7, max_length = 7)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_destinatario: Option<String>,
}

/// Bounds every text before the domain reads it, so no field is read at
/// any length a client sends.
const MAX_FIELD: usize = 400;

impl Validate for ContactBody {
    fn validate(&self) -> Vec<FieldError> {
        // The domain checks every field's own rule and length; only
        // absurd lengths are stopped here, before it reads them.
        let texts = [
            ("/denominazione", self.denominazione.as_deref()),
            ("/nome", self.nome.as_deref()),
            ("/cognome", self.cognome.as_deref()),
            ("/codice_fiscale", self.codice_fiscale.as_deref()),
            ("/email", self.email.as_deref()),
            ("/pec", self.pec.as_deref()),
            ("/codice_destinatario", self.codice_destinatario.as_deref()),
            (
                "/partita_iva/paese",
                self.partita_iva.as_ref().map(|p| p.paese.as_str()),
            ),
            (
                "/partita_iva/codice",
                self.partita_iva.as_ref().map(|p| p.codice.as_str()),
            ),
            ("/sede/indirizzo", Some(self.sede.indirizzo.as_str())),
            (
                "/sede/numero_civico",
                Some(self.sede.numero_civico.as_str()),
            ),
            ("/sede/cap", Some(self.sede.cap.as_str())),
            ("/sede/comune", Some(self.sede.comune.as_str())),
            ("/sede/provincia", Some(self.sede.provincia.as_str())),
            ("/sede/nazione", Some(self.sede.nazione.as_str())),
        ];
        texts
            .into_iter()
            .filter(|(_, text)| text.is_some_and(|t| t.chars().count() > MAX_FIELD))
            .map(|(pointer, _)| {
                FieldError::new(
                    pointer,
                    crate::http::codes::ErrorCode::TooLong,
                    format!("at most {MAX_FIELD} characters"),
                )
            })
            .collect()
    }
}

impl ContactBody {
    pub fn input(&self) -> ContactInput {
        ContactInput {
            role: self.role.into(),
            kind: self.kind.into(),
            denominazione: self.denominazione.clone(),
            nome: self.nome.clone(),
            cognome: self.cognome.clone(),
            partita_iva: self.partita_iva.as_ref().map(|p| IdFiscaleIvaInput {
                paese: p.paese.clone(),
                codice: p.codice.clone(),
            }),
            codice_fiscale: self.codice_fiscale.clone(),
            sede: self.sede.input(),
            email: self.email.clone(),
            pec: self.pec.clone(),
            codice_destinatario: self.codice_destinatario.clone(),
        }
    }

    /// Every refused field at once, at its pointer in the body.
    pub fn parse(&self) -> Result<Contact, Vec<FieldError>> {
        Contact::parse(&self.input())
            .map_err(|errors| errors.into_iter().map(FieldError::from).collect())
    }

    /// The body that would store `contact` as it is.
    pub fn of(contact: &Contact) -> Self {
        let (denominazione, nome, cognome) = match &contact.name {
            HolderName::Denominazione(d) => (Some(d.clone()), None, None),
            HolderName::Persona { nome, cognome } => {
                (None, Some(nome.clone()), Some(cognome.clone()))
            }
        };
        ContactBody {
            role: contact.role.into(),
            kind: contact.kind.into(),
            denominazione,
            nome,
            cognome,
            partita_iva: contact.partita_iva.as_ref().map(|p| PartitaIvaDto {
                paese: p.paese.clone(),
                codice: p.codice.clone(),
            }),
            codice_fiscale: contact
                .codice_fiscale
                .as_ref()
                .map(|cf| cf.as_str().to_owned()),
            sede: AddressDto::of(&contact.sede),
            email: contact.email.as_ref().map(|e| e.as_str().to_owned()),
            pec: contact.pec.as_ref().map(|e| e.as_str().to_owned()),
            codice_destinatario: contact.codice_destinatario.clone(),
        }
    }
}

/// A stored contact: the fields of [`ContactBody`], as stored (trimmed,
/// codes in upper case), and its bookkeeping.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: Uuid,
    /// The denominazione, or cognome and nome.
    #[schema(example = "Rossi Forniture S.r.l.")]
    pub display_name: String,
    pub role: ContactRoleDto,
    pub kind: ContactKindDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominazione: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cognome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partita_iva: Option<PartitaIvaDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    pub sede: AddressDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codice_destinatario: Option<String>,
    /// Grows at every change; the `ETag` is this number in quotes.
    #[schema(example = 1)]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The panel user who made the last change.
    pub updated_by: Uuid,
}

impl ContactDto {
    pub fn of(record: &ContactRecord) -> Self {
        let body = ContactBody::of(&record.contact);
        ContactDto {
            id: record.id,
            display_name: record.contact.display_name(),
            role: body.role,
            kind: body.kind,
            denominazione: body.denominazione,
            nome: body.nome,
            cognome: body.cognome,
            partita_iva: body.partita_iva,
            codice_fiscale: body.codice_fiscale,
            sede: body.sede,
            email: body.email,
            pec: body.pec,
            codice_destinatario: body.codice_destinatario,
            version: record.version,
            created_at: record.created_at,
            updated_at: record.updated_at,
            updated_by: record.updated_by,
        }
    }
}

/// The strong ETag of a contact at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
