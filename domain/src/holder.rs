//! The holder of a service ("intestatario"): a persona fisica or giuridica
//! with its tax ids and address. Built only through [`Holder::parse`], which
//! reports every invalid field at once.

use crate::tax_id::{CodiceFiscale, PartitaIva};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    PersonaFisica,
    PersonaGiuridica,
}

impl HolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::PersonaFisica => "persona_fisica",
            HolderKind::PersonaGiuridica => "persona_giuridica",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [HolderKind::PersonaFisica, HolderKind::PersonaGiuridica]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Holder data as received, before any check.
#[derive(Debug, Clone, Default)]
pub struct HolderInput {
    pub kind: String,
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    pub codice_fiscale: String,
    pub partita_iva: Option<String>,
    pub address: AddressInput,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderName {
    Denominazione(String),
    Persona { nome: String, cognome: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub indirizzo: String,
    pub numero_civico: String,
    pub cap: String,
    pub comune: String,
    pub provincia: String,
    pub nazione: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub kind: HolderKind,
    pub name: HolderName,
    pub codice_fiscale: CodiceFiscale,
    pub partita_iva: Option<PartitaIva>,
    pub address: Address,
    pub phone: Option<String>,
}

/// One invalid field: a path relative to the holder object (`/partita_iva`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderFieldError {
    pub pointer: &'static str,
    pub code: &'static str,
    pub detail: String,
}

fn text(value: &str, max: usize) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty() && trimmed.chars().count() <= max).then(|| trimmed.to_owned())
}

/// Address data as received, before any check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInput {
    pub indirizzo: String,
    pub numero_civico: String,
    pub cap: String,
    pub comune: String,
    pub provincia: String,
    pub nazione: String,
}

/// How strictly an address's country and provincia are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceCheck {
    /// Two letters each, the provincia only for Italy: the rule holders have
    /// been stored under, so a stored holder always reads back.
    Shape,
    /// Codes that exist: an ISO 3166-1 country, an Italian provincia for
    /// Italy and at most two letters elsewhere. What the FE configuration
    /// asks of the sede that goes on every invoice.
    Known,
}

/// The address field an [`AddressError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressField {
    Indirizzo,
    NumeroCivico,
    Cap,
    Comune,
    Provincia,
    Nazione,
}

impl AddressField {
    /// The field's name in an address object (`cap`).
    pub fn as_str(self) -> &'static str {
        match self {
            AddressField::Indirizzo => "indirizzo",
            AddressField::NumeroCivico => "numero_civico",
            AddressField::Cap => "cap",
            AddressField::Comune => "comune",
            AddressField::Provincia => "provincia",
            AddressField::Nazione => "nazione",
        }
    }

    fn holder_pointer(self) -> &'static str {
        match self {
            AddressField::Indirizzo => "/address/indirizzo",
            AddressField::NumeroCivico => "/address/numero_civico",
            AddressField::Cap => "/address/cap",
            AddressField::Comune => "/address/comune",
            AddressField::Provincia => "/address/provincia",
            AddressField::Nazione => "/address/nazione",
        }
    }
}

/// Why an address field is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressCode {
    Required,
    TooLong,
    InvalidCap,
    InvalidProvincia,
    InvalidNazione,
}

impl AddressCode {
    /// The holder's codes, as its API has always answered them.
    fn holder_code(self) -> &'static str {
        match self {
            AddressCode::Required | AddressCode::TooLong => "required",
            AddressCode::InvalidCap => "invalid_cap",
            AddressCode::InvalidProvincia => "invalid_provincia",
            AddressCode::InvalidNazione => "invalid_value",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError {
    pub field: AddressField,
    pub code: AddressCode,
    pub detail: String,
}

/// A telephone number as people write it: at most 20 characters of digits,
/// spaces and `+ - / ( ) .`, at least 6 of them digits.
pub fn is_phone(phone: &str) -> bool {
    phone.len() <= 20
        && phone.chars().filter(char::is_ascii_digit).count() >= 6
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-/().".contains(c))
}

impl Address {
    /// Trims every field and upper-cases the codes; reports every invalid
    /// field at once, in the order nazione, cap, provincia, indirizzo,
    /// numero_civico, comune. The CAP must have 5 digits in Italy only.
    pub fn parse(input: &AddressInput, places: PlaceCheck) -> Result<Address, Vec<AddressError>> {
        let mut errors = Vec::new();
        let mut fail = |field: AddressField, code: AddressCode, detail: &str| {
            errors.push(AddressError {
                field,
                code,
                detail: detail.to_owned(),
            });
        };
        let letters = |code: &str| code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase());
        let nazione = input.nazione.trim().to_ascii_uppercase();
        let nazione_ok = match places {
            PlaceCheck::Shape => letters(&nazione),
            PlaceCheck::Known => crate::place::is_country(&nazione),
        };
        if !nazione_ok {
            fail(
                AddressField::Nazione,
                AddressCode::InvalidNazione,
                "an ISO 3166-1 alpha-2 country code, e.g. IT",
            );
        }
        let italy = nazione == "IT";
        let cap = input.cap.trim().to_owned();
        if italy && !(cap.len() == 5 && cap.chars().all(|c| c.is_ascii_digit())) {
            fail(
                AddressField::Cap,
                AddressCode::InvalidCap,
                "an Italian CAP has 5 digits",
            );
        }
        let provincia = input.provincia.trim().to_ascii_uppercase();
        let provincia_ok = match (places, italy) {
            (PlaceCheck::Shape, true) => letters(&provincia),
            (PlaceCheck::Shape, false) => true,
            (PlaceCheck::Known, true) => crate::place::is_italian_provincia(&provincia),
            (PlaceCheck::Known, false) => provincia.is_empty() || letters(&provincia),
        };
        if !provincia_ok {
            fail(
                AddressField::Provincia,
                AddressCode::InvalidProvincia,
                match (places, italy) {
                    (PlaceCheck::Shape, _) => "the provincia is 2 letters, e.g. MI",
                    (PlaceCheck::Known, true) => "the sigla of an Italian provincia, e.g. MI",
                    (PlaceCheck::Known, false) => "empty, or 2 letters outside Italy",
                },
            );
        }
        let mut text_field = |field: AddressField, value: &str, max: usize, detail: &str| {
            let trimmed = value.trim();
            if trimmed.is_empty() {
                fail(field, AddressCode::Required, detail);
            } else if trimmed.chars().count() > max {
                fail(field, AddressCode::TooLong, detail);
            }
            trimmed.to_owned()
        };
        let indirizzo = text_field(
            AddressField::Indirizzo,
            &input.indirizzo,
            200,
            "1-200 characters",
        );
        let numero_civico = text_field(
            AddressField::NumeroCivico,
            &input.numero_civico,
            20,
            "1-20 characters",
        );
        let comune = text_field(AddressField::Comune, &input.comune, 100, "1-100 characters");
        if errors.is_empty() {
            Ok(Address {
                indirizzo,
                numero_civico,
                cap,
                comune,
                provincia,
                nazione,
            })
        } else {
            Err(errors)
        }
    }

    /// The address as text fields again, as [`Address::parse`] reads them.
    pub fn to_input(&self) -> AddressInput {
        AddressInput {
            indirizzo: self.indirizzo.clone(),
            numero_civico: self.numero_civico.clone(),
            cap: self.cap.clone(),
            comune: self.comune.clone(),
            provincia: self.provincia.clone(),
            nazione: self.nazione.clone(),
        }
    }
}

impl Holder {
    /// The tax id that identifies the holder: the Partita IVA, or the
    /// Codice Fiscale when there is none.
    pub fn tax_id(&self) -> &str {
        self.partita_iva
            .as_ref()
            .map_or(self.codice_fiscale.as_str(), PartitaIva::as_str)
    }

    pub fn display_name(&self) -> String {
        match &self.name {
            HolderName::Denominazione(name) => name.clone(),
            HolderName::Persona { nome, cognome } => format!("{nome} {cognome}"),
        }
    }

    /// The holder as text fields again, as `parse` reads them: what a
    /// store writes, and reads back through `parse`.
    pub fn to_input(&self) -> HolderInput {
        let (denominazione, nome, cognome) = match &self.name {
            HolderName::Denominazione(d) => (Some(d.clone()), None, None),
            HolderName::Persona { nome, cognome } => {
                (None, Some(nome.clone()), Some(cognome.clone()))
            }
        };
        HolderInput {
            kind: self.kind.as_str().to_owned(),
            denominazione,
            nome,
            cognome,
            codice_fiscale: self.codice_fiscale.as_str().to_owned(),
            partita_iva: self.partita_iva.as_ref().map(|p| p.as_str().to_owned()),
            address: self.address.to_input(),
            phone: self.phone.clone(),
        }
    }

    pub fn parse(input: &HolderInput) -> Result<Holder, Vec<HolderFieldError>> {
        let mut errors = Vec::new();
        let mut fail = |pointer: &'static str, code: &'static str, detail: String| {
            errors.push(HolderFieldError {
                pointer,
                code,
                detail,
            });
        };
        let kind = HolderKind::parse(&input.kind);
        if kind.is_none() {
            fail(
                "/kind",
                "invalid_value",
                "expected persona_fisica or persona_giuridica".into(),
            );
        }
        let name = match kind {
            Some(HolderKind::PersonaGiuridica) => {
                match input.denominazione.as_deref().and_then(|d| text(d, 200)) {
                    Some(d) => Some(HolderName::Denominazione(d)),
                    None => {
                        fail(
                            "/denominazione",
                            "required",
                            "a persona giuridica needs its denominazione (1-200 characters)".into(),
                        );
                        None
                    }
                }
            }
            Some(HolderKind::PersonaFisica) => {
                let nome = input.nome.as_deref().and_then(|n| text(n, 100));
                let cognome = input.cognome.as_deref().and_then(|c| text(c, 100));
                if nome.is_none() {
                    fail(
                        "/nome",
                        "required",
                        "a persona fisica needs nome (1-100 characters)".into(),
                    );
                }
                if cognome.is_none() {
                    fail(
                        "/cognome",
                        "required",
                        "a persona fisica needs cognome (1-100 characters)".into(),
                    );
                }
                nome.zip(cognome)
                    .map(|(nome, cognome)| HolderName::Persona { nome, cognome })
            }
            None => None,
        };
        let codice_fiscale = match CodiceFiscale::parse(&input.codice_fiscale) {
            Ok(cf) => Some(cf),
            Err(error) => {
                fail(
                    "/codice_fiscale",
                    "invalid_codice_fiscale",
                    error.to_string(),
                );
                None
            }
        };
        let partita_iva = match input
            .partita_iva
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(text) => match PartitaIva::parse(text) {
                Ok(piva) => Some(Some(piva)),
                Err(error) => {
                    fail("/partita_iva", "invalid_partita_iva", error.to_string());
                    None
                }
            },
            None if kind == Some(HolderKind::PersonaGiuridica) => {
                fail(
                    "/partita_iva",
                    "required",
                    "a persona giuridica needs its Partita IVA".into(),
                );
                None
            }
            None => Some(None),
        };
        let address = Address::parse(&input.address, PlaceCheck::Shape)
            .map_err(|address_errors| {
                for error in address_errors {
                    fail(
                        error.field.holder_pointer(),
                        error.code.holder_code(),
                        error.detail,
                    );
                }
            })
            .ok();
        let phone = match input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(phone) if is_phone(phone) => Some(phone.to_owned()),
            Some(_) => {
                fail(
                    "/phone",
                    "invalid_phone",
                    "digits, spaces and + - / ( ) ., at least 6 digits".into(),
                );
                None
            }
            None => None,
        };
        match (kind, name, codice_fiscale, partita_iva, address) {
            (Some(kind), Some(name), Some(codice_fiscale), Some(partita_iva), Some(address))
                if errors.is_empty() =>
            {
                Ok(Holder {
                    kind,
                    name,
                    codice_fiscale,
                    partita_iva,
                    address,
                    phone,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company() -> HolderInput {
        HolderInput {
            kind: "persona_giuridica".into(),
            denominazione: Some("Alfa S.r.l.".into()),
            codice_fiscale: "01234567897".into(),
            partita_iva: Some("01234567897".into()),
            address: AddressInput {
                indirizzo: "Via Roma".into(),
                numero_civico: "1".into(),
                cap: "20121".into(),
                comune: "Milano".into(),
                provincia: "mi".into(),
                nazione: "it".into(),
            },
            ..HolderInput::default()
        }
    }

    #[test]
    fn a_company_parses_and_is_known_by_its_partita_iva() {
        let holder = Holder::parse(&company()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(holder.tax_id(), "01234567897");
        assert_eq!(holder.address.provincia, "MI");
        assert_eq!(holder.display_name(), "Alfa S.r.l.");
    }

    #[test]
    fn a_holder_written_as_text_reads_back_the_same() {
        let company = Holder::parse(&company()).unwrap_or_else(|e| panic!("{e:?}"));
        let person = Holder::parse(&HolderInput {
            kind: "persona_fisica".into(),
            nome: Some(" Mario ".into()),
            cognome: Some("Rossi".into()),
            codice_fiscale: "rssmra85t10a562s".into(),
            phone: Some("+39 02 1234567".into()),
            ..company.to_input()
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        for holder in [company, person] {
            let again = Holder::parse(&holder.to_input()).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(again, holder);
        }
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let mut input = HolderInput {
            partita_iva: Some("01234567890".into()),
            denominazione: None,
            ..company()
        };
        input.address.cap = "201".into();
        let pointers: Vec<&str> = Holder::parse(&input)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(
            pointers,
            vec!["/denominazione", "/partita_iva", "/address/cap"]
        );
    }

    #[test]
    fn a_holder_reads_places_by_their_shape_and_the_known_check_by_the_lists() {
        let input = AddressInput {
            indirizzo: " Via Roma ".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "zz".into(),
            nazione: "it".into(),
        };
        let shape = Address::parse(&input, PlaceCheck::Shape).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (shape.indirizzo.as_str(), shape.provincia.as_str()),
            ("Via Roma", "ZZ")
        );
        let fields = |input: &AddressInput| -> Vec<(AddressField, AddressCode)> {
            Address::parse(input, PlaceCheck::Known)
                .err()
                .unwrap_or_default()
                .iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(
            fields(&input),
            [(AddressField::Provincia, AddressCode::InvalidProvincia)]
        );
        let unknown_country = AddressInput {
            nazione: "QX".into(),
            ..input.clone()
        };
        assert!(Address::parse(&unknown_country, PlaceCheck::Shape).is_ok());
        assert_eq!(
            fields(&unknown_country),
            [(AddressField::Nazione, AddressCode::InvalidNazione)]
        );
        let too_long = AddressInput {
            comune: "x".repeat(101),
            numero_civico: " ".into(),
            provincia: "MI".into(),
            ..input
        };
        assert_eq!(
            fields(&too_long),
            [
                (AddressField::NumeroCivico, AddressCode::Required),
                (AddressField::Comune, AddressCode::TooLong)
            ]
        );
    }

    #[test]
    fn a_person_needs_nome_and_cognome_and_no_partita_iva() {
        let input = HolderInput {
            kind: "persona_fisica".into(),
            denominazione: None,
            nome: Some("Mario".into()),
            cognome: Some("Rossi".into()),
            codice_fiscale: "rssmra85t10a562s".into(),
            partita_iva: None,
            ..company()
        };
        let holder = Holder::parse(&input).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(holder.tax_id(), "RSSMRA85T10A562S");
        assert_eq!(holder.display_name(), "Mario Rossi");
    }
}
