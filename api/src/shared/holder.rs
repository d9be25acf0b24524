//! The holder ("intestatario") as every area reads and shows it: sign-up,
//! checkout, orders and services take and return this one DTO.

use crate::http::codes::ErrorCode;
use crate::http::problem::FieldError;
use domain::holder::{Address, AddressInput};
use domain::{Holder, HolderInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HolderKindDto {
    PersonaFisica,
    PersonaGiuridica,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[schema(example = "Via Roma", min_length = 1, max_length = 200)]
    pub indirizzo: String,
    #[schema(example = "1", min_length = 1, max_length = 20)]
    pub numero_civico: String,
    /// 5 digits in Italy.
    #[schema(example = "20121", max_length = 10)]
    pub cap: String,
    #[schema(example = "Milano", min_length = 1, max_length = 100)]
    pub comune: String,
    /// 2 letters in Italy.
    #[schema(example = "MI", max_length = 5)]
    pub provincia: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "IT", min_length = 2, max_length = 2)]
    pub nazione: String,
}

impl AddressDto {
    /// The address as the domain reads it.
    pub fn input(&self) -> AddressInput {
        AddressInput {
            indirizzo: self.indirizzo.clone(),
            numero_civico: self.numero_civico.clone(),
            cap: self.cap.clone(),
            comune: self.comune.clone(),
            provincia: self.provincia.clone(),
            nazione: self.nazione.clone(),
        }
    }

    /// A checked address as the API shows it.
    pub fn of(address: &Address) -> Self {
        AddressDto {
            indirizzo: address.indirizzo.clone(),
            numero_civico: address.numero_civico.clone(),
            cap: address.cap.clone(),
            comune: address.comune.clone(),
            provincia: address.provincia.clone(),
            nazione: address.nazione.clone(),
        }
    }
}

/// The holder ("intestatario") of the services: the same object sign-up
/// and checkout take.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderDto {
    pub kind: HolderKindDto,
    /// Persona giuridica: the company name.
    #[schema(example = "Alfa S.r.l.", max_length = 200)]
    pub denominazione: Option<String>,
    /// Persona fisica.
    #[schema(example = "Mario", max_length = 100)]
    pub nome: Option<String>,
    /// Persona fisica.
    #[schema(example = "Rossi", max_length = 100)]
    pub cognome: Option<String>,
    /// 16 characters (persona fisica) or 11 digits, with its check character.
    #[schema(example = "RSSMRA85T10A562S", min_length = 11, max_length = 16)]
    pub codice_fiscale: String,
    /// 11 digits with its check digit; required for a persona giuridica.
    #[schema(example = "01234567897", min_length = 11, max_length = 11)]
    pub partita_iva: Option<String>,
    pub address: AddressDto,
    #[schema(example = "+39 02 1234567", max_length = 20)]
    pub phone: Option<String>,
}

impl HolderDto {
    pub fn input(&self) -> HolderInput {
        HolderInput {
            kind: match self.kind {
                HolderKindDto::PersonaFisica => "persona_fisica".into(),
                HolderKindDto::PersonaGiuridica => "persona_giuridica".into(),
            },
            denominazione: self.denominazione.clone(),
            nome: self.nome.clone(),
            cognome: self.cognome.clone(),
            codice_fiscale: self.codice_fiscale.clone(),
            partita_iva: self.partita_iva.clone(),
            address: self.address.input(),
            phone: self.phone.clone(),
        }
    }

    /// Parses into a [`Holder`]; errors point under `prefix` (`/holder`).
    pub fn parse(&self, prefix: &str) -> Result<Holder, Vec<FieldError>> {
        Holder::parse(&self.input()).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FieldError::decided(format!("{prefix}{}", e.pointer), e.code, e.detail))
                .collect()
        })
    }

    /// The holder as the API shows it.
    pub fn from_holder(holder: &Holder) -> Self {
        let (denominazione, nome, cognome) = match &holder.name {
            domain::holder::HolderName::Denominazione(d) => (Some(d.clone()), None, None),
            domain::holder::HolderName::Persona { nome, cognome } => {
                (None, Some(nome.clone()), Some(cognome.clone()))
            }
        };
        HolderDto {
            kind: match holder.kind {
                domain::HolderKind::PersonaFisica => HolderKindDto::PersonaFisica,
                domain::HolderKind::PersonaGiuridica => HolderKindDto::PersonaGiuridica,
            },
            denominazione,
            nome,
            cognome,
            codice_fiscale: holder.codice_fiscale.to_string(),
            partita_iva: holder.partita_iva.as_ref().map(ToString::to_string),
            address: AddressDto::of(&holder.address),
            phone: holder.phone.clone(),
        }
    }
}

impl HolderDto {
    /// The schema's length limits, for every field whatever the kind (a
    /// field the kind ignores is still refused when it breaks the schema).
    pub fn length_errors(&self, prefix: &str) -> Vec<FieldError> {
        let optional = |value: &Option<String>| value.as_deref().unwrap_or_default().to_owned();
        let a = &self.address;
        [
            ("/denominazione", optional(&self.denominazione), 0, 200),
            ("/nome", optional(&self.nome), 0, 100),
            ("/cognome", optional(&self.cognome), 0, 100),
            ("/codice_fiscale", self.codice_fiscale.clone(), 11, 16),
            ("/phone", optional(&self.phone), 0, 20),
            ("/address/indirizzo", a.indirizzo.clone(), 1, 200),
            ("/address/numero_civico", a.numero_civico.clone(), 1, 20),
            ("/address/cap", a.cap.clone(), 0, 10),
            ("/address/comune", a.comune.clone(), 1, 100),
            ("/address/provincia", a.provincia.clone(), 0, 5),
            ("/address/nazione", a.nazione.clone(), 2, 2),
        ]
        .into_iter()
        .chain(
            self.partita_iva
                .clone()
                .map(|p| ("/partita_iva", p, 11, 11)),
        )
        .filter(|(_, value, min, max)| !(*min..=*max).contains(&value.chars().count()))
        .map(|(pointer, _, min, max)| {
            FieldError::new(
                format!("{prefix}{pointer}"),
                ErrorCode::InvalidLength,
                format!("{min} to {max} characters"),
            )
        })
        .collect()
    }
}
