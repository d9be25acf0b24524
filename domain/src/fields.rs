//! A refused field of a body the domain reads (a wizard step, a contact):
//! its JSON pointer, a stable code and a sentence; and the collector that
//! gathers every refused field of a body, so all are reported at once.

use crate::email::EmailAddress;
use crate::holder::{Address, AddressCode, AddressInput, PlaceCheck};
use std::fmt;

/// An optional text as sent: trimmed, `None` when absent or blank.
pub(crate) fn present(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Stable machine codes of a refused field; the API shows them as spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldCode {
    /// Missing or blank.
    Required,
    /// Longer than the field allows.
    TooLong,
    /// Not one of the field's closed set of values.
    InvalidValue,
    /// A field that does not belong with the others sent (a denominazione
    /// for a ditta individuale, a natura beside a non-zero rate).
    NotAllowed,
    /// Partita IVA or Codice Fiscale differing from the order's holder.
    ReadOnlyField,
    InvalidCodiceIpa,
    InvalidPartitaIva,
    InvalidCodiceFiscale,
    InvalidCodiceDestinatario,
    InvalidCap,
    InvalidProvincia,
    InvalidNazione,
    InvalidPhone,
    InvalidEmail,
    /// Not a money amount (the capitale sociale).
    InvalidAmount,
    InvalidRegimeFiscale,
    InvalidTipoCassa,
    /// Not a percentage from "0.00" to "100.00" with two decimals.
    InvalidRate,
    InvalidNatura,
    InvalidTipoDocumento,
    /// More than [`MAX_CASSE`] casse.
    TooManyCasse,
    /// The same tipo_cassa in two entries.
    DuplicateTipoCassa,
}

impl FieldCode {
    pub const ALL: [FieldCode; 22] = [
        FieldCode::Required,
        FieldCode::TooLong,
        FieldCode::InvalidValue,
        FieldCode::NotAllowed,
        FieldCode::ReadOnlyField,
        FieldCode::InvalidCodiceIpa,
        FieldCode::InvalidPartitaIva,
        FieldCode::InvalidCodiceFiscale,
        FieldCode::InvalidCodiceDestinatario,
        FieldCode::InvalidCap,
        FieldCode::InvalidProvincia,
        FieldCode::InvalidNazione,
        FieldCode::InvalidPhone,
        FieldCode::InvalidEmail,
        FieldCode::InvalidAmount,
        FieldCode::InvalidRegimeFiscale,
        FieldCode::InvalidTipoCassa,
        FieldCode::InvalidRate,
        FieldCode::InvalidNatura,
        FieldCode::InvalidTipoDocumento,
        FieldCode::TooManyCasse,
        FieldCode::DuplicateTipoCassa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::TooLong => "too_long",
            FieldCode::InvalidValue => "invalid_value",
            FieldCode::NotAllowed => "not_allowed",
            FieldCode::ReadOnlyField => "read_only_field",
            FieldCode::InvalidCodiceIpa => "invalid_codice_ipa",
            FieldCode::InvalidPartitaIva => "invalid_partita_iva",
            FieldCode::InvalidCodiceFiscale => "invalid_codice_fiscale",
            FieldCode::InvalidCodiceDestinatario => "invalid_codice_destinatario",
            FieldCode::InvalidCap => "invalid_cap",
            FieldCode::InvalidProvincia => "invalid_provincia",
            FieldCode::InvalidNazione => "invalid_nazione",
            FieldCode::InvalidPhone => "invalid_phone",
            FieldCode::InvalidEmail => "invalid_email",
            FieldCode::InvalidAmount => "invalid_amount",
            FieldCode::InvalidRegimeFiscale => "invalid_regime_fiscale",
            FieldCode::InvalidTipoCassa => "invalid_tipo_cassa",
            FieldCode::InvalidRate => "invalid_rate",
            FieldCode::InvalidNatura => "invalid_natura",
            FieldCode::InvalidTipoDocumento => "invalid_tipo_documento",
            FieldCode::TooManyCasse => "too_many_casse",
            FieldCode::DuplicateTipoCassa => "duplicate_tipo_cassa",
        }
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refused field of a body (a wizard step's, a contact's): a JSON pointer relative to the body
/// (`/sede/cap`, `/casse/1/tipo_cassa`), its code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub pointer: String,
    pub code: FieldCode,
    pub detail: String,
}

/// Collects a body's refused fields, so every one is reported at once.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn add(
        &mut self,
        pointer: impl Into<String>,
        code: FieldCode,
        detail: impl Into<String>,
    ) {
        self.0.push(FieldError {
            pointer: pointer.into(),
            code,
            detail: detail.into(),
        });
    }

    /// A required text field: trimmed, 1 to `max` characters.
    pub(crate) fn text(
        &mut self,
        pointer: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let trimmed = value.map(str::trim).unwrap_or_default();
        if trimmed.is_empty() {
            self.add(pointer, FieldCode::Required, format!("1-{max} characters"));
            None
        } else if trimmed.chars().count() > max {
            self.add(pointer, FieldCode::TooLong, format!("1-{max} characters"));
            None
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// One of a closed set, each spelled by `as_str`.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        pointer: &str,
        value: &str,
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Option<T> {
        let found = all.iter().copied().find(|v| as_str(*v) == value);
        if found.is_none() {
            let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
            self.add(
                pointer,
                FieldCode::InvalidValue,
                format!("one of {}", names.join(", ")),
            );
        }
        found
    }

    /// An address under `prefix` (`/sede`), each refused field at its
    /// pointer with its code.
    pub(crate) fn address(
        &mut self,
        prefix: &str,
        input: &AddressInput,
        places: PlaceCheck,
    ) -> Option<Address> {
        match Address::parse(input, places) {
            Ok(address) => Some(address),
            Err(refused) => {
                for error in refused {
                    let code = match error.code {
                        AddressCode::Required => FieldCode::Required,
                        AddressCode::TooLong => FieldCode::TooLong,
                        AddressCode::InvalidCap => FieldCode::InvalidCap,
                        AddressCode::InvalidProvincia => FieldCode::InvalidProvincia,
                        AddressCode::InvalidNazione => FieldCode::InvalidNazione,
                    };
                    self.add(
                        format!("{prefix}/{}", error.field.as_str()),
                        code,
                        error.detail,
                    );
                }
                None
            }
        }
    }

    /// An optional e-mail address: `None` when absent or blank (or refused).
    pub(crate) fn email(&mut self, pointer: &str, value: Option<&str>) -> Option<EmailAddress> {
        let value = present(value)?;
        match EmailAddress::parse(&value) {
            Ok(email) => Some(email),
            Err(error) => {
                self.add(pointer, FieldCode::InvalidEmail, error.to_string());
                None
            }
        }
    }

    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}
