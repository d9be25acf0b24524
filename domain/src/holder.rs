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
    pub indirizzo: String,
    pub numero_civico: String,
    pub cap: String,
    pub comune: String,
    pub provincia: String,
    pub nazione: String,
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
            indirizzo: self.address.indirizzo.clone(),
            numero_civico: self.address.numero_civico.clone(),
            cap: self.address.cap.clone(),
            comune: self.address.comune.clone(),
            provincia: self.address.provincia.clone(),
            nazione: self.address.nazione.clone(),
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
        let nazione = input.nazione.trim().to_ascii_uppercase();
        if nazione.len() != 2 || !nazione.chars().all(|c| c.is_ascii_uppercase()) {
            fail(
                "/address/nazione",
                "invalid_value",
                "an ISO 3166-1 alpha-2 country code, e.g. IT".into(),
            );
        }
        let cap = input.cap.trim().to_owned();
        if nazione == "IT" && !(cap.len() == 5 && cap.chars().all(|c| c.is_ascii_digit())) {
            fail(
                "/address/cap",
                "invalid_cap",
                "an Italian CAP has 5 digits".into(),
            );
        }
        let provincia = input.provincia.trim().to_ascii_uppercase();
        if nazione == "IT"
            && !(provincia.len() == 2 && provincia.chars().all(|c| c.is_ascii_uppercase()))
        {
            fail(
                "/address/provincia",
                "invalid_provincia",
                "the provincia is 2 letters, e.g. MI".into(),
            );
        }
        let indirizzo = text(&input.indirizzo, 200);
        if indirizzo.is_none() {
            fail("/address/indirizzo", "required", "1-200 characters".into());
        }
        let numero_civico = text(&input.numero_civico, 20);
        if numero_civico.is_none() {
            fail(
                "/address/numero_civico",
                "required",
                "1-20 characters".into(),
            );
        }
        let comune = text(&input.comune, 100);
        if comune.is_none() {
            fail("/address/comune", "required", "1-100 characters".into());
        }
        let phone = match input
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(phone)
                if phone.len() <= 20
                    && phone.chars().filter(char::is_ascii_digit).count() >= 6
                    && phone
                        .chars()
                        .all(|c| c.is_ascii_digit() || " +-/().".contains(c)) =>
            {
                Some(phone.to_owned())
            }
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
        match (
            kind,
            name,
            codice_fiscale,
            partita_iva,
            indirizzo,
            numero_civico,
            comune,
        ) {
            (
                Some(kind),
                Some(name),
                Some(codice_fiscale),
                Some(partita_iva),
                Some(indirizzo),
                Some(numero_civico),
                Some(comune),
            ) if errors.is_empty() => Ok(Holder {
                kind,
                name,
                codice_fiscale,
                partita_iva,
                address: Address {
                    indirizzo,
                    numero_civico,
                    cap,
                    comune,
                    provincia,
                    nazione,
                },
                phone,
            }),
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
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "mi".into(),
            nazione: "it".into(),
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
        let input = HolderInput {
            partita_iva: Some("01234567890".into()),
            cap: "201".into(),
            denominazione: None,
            ..company()
        };
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
