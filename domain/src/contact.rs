//! A contact (anagrafica) of a service: a customer or a supplier that its
//! invoices name. Duplicates are allowed (the matching procedure merges
//! them), so nothing here compares one contact with another.

use crate::email::EmailAddress;
use crate::fields::{Errors, FieldCode, FieldError, present};
use crate::holder::{Address, AddressInput, HolderName, PlaceCheck};
use crate::place::is_country;
use crate::tax_id::{CodiceFiscale, PartitaIva};

/// What the contact is to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactRole {
    Cliente,
    Fornitore,
}

impl ContactRole {
    pub const ALL: [ContactRole; 2] = [ContactRole::Cliente, ContactRole::Fornitore];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::Cliente => "cliente",
            ContactRole::Fornitore => "fornitore",
        }
    }

    pub fn parse(text: &str) -> Option<ContactRole> {
        ContactRole::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A person (nome and cognome) or an organisation (denominazione).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactKind {
    PersonaFisica,
    PersonaGiuridica,
}

impl ContactKind {
    pub const ALL: [ContactKind; 2] = [ContactKind::PersonaFisica, ContactKind::PersonaGiuridica];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::PersonaFisica => "persona_fisica",
            ContactKind::PersonaGiuridica => "persona_giuridica",
        }
    }

    pub fn parse(text: &str) -> Option<ContactKind> {
        ContactKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A VAT id as FatturaPA's `IdFiscaleIVA` has it: a country and a code.
/// Italian codes are Partite IVA with their check digit; others are 1 to
/// 28 letters and digits, as the country writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdFiscaleIva {
    pub paese: String,
    pub codice: String,
}

/// The longest `IdCodice` FatturaPA takes.
pub const MAX_ID_CODICE: usize = 28;

impl IdFiscaleIva {
    /// Upper-cases both parts and drops spaces inside the code, so the
    /// same id is stored (and searched) one way.
    pub fn normalise(paese: &str, codice: &str) -> (String, String) {
        let paese = paese.trim().to_ascii_uppercase();
        let codice: String = codice
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        (paese, codice)
    }
}

/// A contact as sent, before any check. The closed sets arrive typed (the
/// API refuses other values before this is built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInput {
    pub role: ContactRole,
    pub kind: ContactKind,
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    pub partita_iva: Option<IdFiscaleIvaInput>,
    pub codice_fiscale: Option<String>,
    pub sede: AddressInput,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub codice_destinatario: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdFiscaleIvaInput {
    pub paese: String,
    pub codice: String,
}

/// A contact whose every field was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub role: ContactRole,
    pub kind: ContactKind,
    pub name: HolderName,
    pub partita_iva: Option<IdFiscaleIva>,
    pub codice_fiscale: Option<CodiceFiscale>,
    pub sede: Address,
    pub email: Option<EmailAddress>,
    pub pec: Option<EmailAddress>,
    pub codice_destinatario: Option<String>,
}

const MAX_DENOMINAZIONE: usize = 200;
const MAX_NOME: usize = 100;

impl Contact {
    /// Checks every field and reports every refused one at once, each at
    /// its pointer in the contact object. A contact needs a name for its
    /// kind, a sede, and at least one tax id (a FatturaPA party is named by
    /// its IdFiscaleIVA or its CodiceFiscale).
    pub fn parse(input: &ContactInput) -> Result<Contact, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = name(&mut errors, input);
        let partita_iva = match &input.partita_iva {
            Some(id) => id_fiscale(&mut errors, id).map(Some),
            None => Some(None),
        };
        let codice_fiscale = match present(input.codice_fiscale.as_deref()) {
            Some(text) => match CodiceFiscale::parse(&text) {
                Ok(cf) => Some(Some(cf)),
                Err(error) => {
                    errors.add(
                        "/codice_fiscale",
                        FieldCode::InvalidCodiceFiscale,
                        error.to_string(),
                    );
                    None
                }
            },
            None => Some(None),
        };
        if input.partita_iva.is_none() && present(input.codice_fiscale.as_deref()).is_none() {
            errors.add(
                "/partita_iva",
                FieldCode::Required,
                "a contact needs its partita_iva, its codice_fiscale or both",
            );
        }
        let sede = errors.address("/sede", &input.sede, PlaceCheck::Known);
        let email = errors.email("/email", input.email.as_deref());
        let pec = errors.email("/pec", input.pec.as_deref());
        let codice_destinatario = codice_destinatario(&mut errors, input);
        let contact = match (name, partita_iva, codice_fiscale, sede, codice_destinatario) {
            (
                Some(name),
                Some(partita_iva),
                Some(codice_fiscale),
                Some(sede),
                Some(codice_destinatario),
            ) => Some(Contact {
                role: input.role,
                kind: input.kind,
                name,
                partita_iva,
                codice_fiscale,
                sede,
                email,
                pec,
                codice_destinatario,
            }),
            _ => None,
        };
        errors.finish(contact)
    }

    /// The name as lists show it: the denominazione, or cognome and nome.
    pub fn display_name(&self) -> String {
        match &self.name {
            HolderName::Denominazione(d) => d.clone(),
            HolderName::Persona { nome, cognome } => format!("{cognome} {nome}"),
        }
    }

    /// What the name filter (`q`) compares a prefix with: the display name
    /// in lower case.
    pub fn name_key(&self) -> String {
        name_key(&self.display_name())
    }
}

/// A name or a prefix of one as the name filter compares them: trimmed and
/// in lower case, so the comparison ignores case.
pub fn name_key(text: &str) -> String {
    text.trim().to_lowercase()
}

fn name(errors: &mut Errors, input: &ContactInput) -> Option<HolderName> {
    match input.kind {
        ContactKind::PersonaGiuridica => {
            for (pointer, value) in [("/nome", &input.nome), ("/cognome", &input.cognome)] {
                if present(value.as_deref()).is_some() {
                    errors.add(
                        pointer,
                        FieldCode::NotAllowed,
                        "a persona giuridica has a denominazione, not nome and cognome",
                    );
                }
            }
            errors
                .text(
                    "/denominazione",
                    input.denominazione.as_deref(),
                    MAX_DENOMINAZIONE,
                )
                .map(HolderName::Denominazione)
        }
        ContactKind::PersonaFisica => {
            if present(input.denominazione.as_deref()).is_some() {
                errors.add(
                    "/denominazione",
                    FieldCode::NotAllowed,
                    "a persona fisica has nome and cognome, not a denominazione",
                );
            }
            let nome = errors.text("/nome", input.nome.as_deref(), MAX_NOME);
            let cognome = errors.text("/cognome", input.cognome.as_deref(), MAX_NOME);
            nome.zip(cognome)
                .map(|(nome, cognome)| HolderName::Persona { nome, cognome })
        }
    }
}

fn id_fiscale(errors: &mut Errors, input: &IdFiscaleIvaInput) -> Option<IdFiscaleIva> {
    let (paese, codice) = IdFiscaleIva::normalise(&input.paese, &input.codice);
    let paese_ok = is_country(&paese);
    if !paese_ok {
        errors.add(
            "/partita_iva/paese",
            FieldCode::InvalidNazione,
            "an ISO 3166-1 alpha-2 country code (IT)",
        );
    }
    // A code written with its country in front (IT01234567890) is the
    // same id.
    let codice = match codice.strip_prefix(paese.as_str()) {
        Some(rest) if paese_ok && !rest.is_empty() && paese == "IT" => rest.to_owned(),
        _ => codice,
    };
    let codice_ok = if paese == "IT" {
        match PartitaIva::parse(&codice) {
            Ok(_) => true,
            Err(error) => {
                errors.add(
                    "/partita_iva/codice",
                    FieldCode::InvalidPartitaIva,
                    error.to_string(),
                );
                false
            }
        }
    } else if codice.is_empty()
        || codice.len() > MAX_ID_CODICE
        || !codice.chars().all(|c| c.is_ascii_alphanumeric())
    {
        errors.add(
            "/partita_iva/codice",
            FieldCode::InvalidPartitaIva,
            format!("1 to {MAX_ID_CODICE} letters and digits"),
        );
        false
    } else {
        true
    };
    (paese_ok && codice_ok).then_some(IdFiscaleIva { paese, codice })
}

/// `Some(None)` when absent; `None` when refused.
fn codice_destinatario(errors: &mut Errors, input: &ContactInput) -> Option<Option<String>> {
    let Some(code) = present(input.codice_destinatario.as_deref()) else {
        return Some(None);
    };
    let code = code.to_ascii_uppercase();
    if code.len() == 7 && code.chars().all(|c| c.is_ascii_alphanumeric()) {
        Some(Some(code))
    } else {
        errors.add(
            "/codice_destinatario",
            FieldCode::InvalidCodiceDestinatario,
            "7 letters and digits (the SdI's codice destinatario)",
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sede() -> AddressInput {
        AddressInput {
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "00100".into(),
            comune: "Roma".into(),
            provincia: "RM".into(),
            nazione: "IT".into(),
        }
    }

    fn company() -> ContactInput {
        ContactInput {
            role: ContactRole::Cliente,
            kind: ContactKind::PersonaGiuridica,
            denominazione: Some("  Rossi S.r.l. ".into()),
            nome: None,
            cognome: None,
            partita_iva: Some(IdFiscaleIvaInput {
                paese: "it".into(),
                codice: "0123456789 7".into(),
            }),
            codice_fiscale: None,
            sede: sede(),
            email: Some("amministrazione@rossi.it".into()),
            pec: None,
            codice_destinatario: Some("abc1234".into()),
        }
    }

    fn parsed(input: &ContactInput) -> Contact {
        Contact::parse(input).unwrap_or_else(|errors| panic!("refused: {errors:?}"))
    }

    fn pointers(result: Result<Contact, Vec<FieldError>>) -> Vec<(String, FieldCode)> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.pointer, e.code))
            .collect()
    }

    #[test]
    fn a_company_reads_normalised() {
        let contact = parsed(&company());
        assert_eq!(
            contact.name,
            HolderName::Denominazione("Rossi S.r.l.".into())
        );
        assert_eq!(
            contact.partita_iva,
            Some(IdFiscaleIva {
                paese: "IT".into(),
                codice: "01234567897".into()
            })
        );
        assert_eq!(contact.codice_destinatario.as_deref(), Some("ABC1234"));
        assert_eq!(contact.name_key(), "rossi s.r.l.");
    }

    #[test]
    fn a_person_is_listed_by_cognome() {
        let mut input = company();
        input.kind = ContactKind::PersonaFisica;
        input.denominazione = None;
        input.nome = Some("Mario".into());
        input.cognome = Some("Rossi".into());
        input.partita_iva = None;
        input.codice_fiscale = Some("RSSMRA80A01H501U".into());
        let contact = parsed(&input);
        assert_eq!(contact.display_name(), "Rossi Mario");
        assert_eq!(contact.name_key(), "rossi mario");
    }

    #[test]
    fn every_refused_field_is_reported_at_once() {
        let mut input = company();
        input.nome = Some("Mario".into());
        input.denominazione = Some(" ".into());
        input.partita_iva = Some(IdFiscaleIvaInput {
            paese: "IT".into(),
            codice: "01234567890".into(),
        });
        input.codice_fiscale = Some("XYZ".into());
        input.sede.cap = "123".into();
        input.email = Some("not an email".into());
        input.codice_destinatario = Some("123".into());
        assert_eq!(
            pointers(Contact::parse(&input)),
            [
                ("/nome".to_owned(), FieldCode::NotAllowed),
                ("/denominazione".to_owned(), FieldCode::Required),
                (
                    "/partita_iva/codice".to_owned(),
                    FieldCode::InvalidPartitaIva
                ),
                (
                    "/codice_fiscale".to_owned(),
                    FieldCode::InvalidCodiceFiscale
                ),
                ("/sede/cap".to_owned(), FieldCode::InvalidCap),
                ("/email".to_owned(), FieldCode::InvalidEmail),
                (
                    "/codice_destinatario".to_owned(),
                    FieldCode::InvalidCodiceDestinatario
                ),
            ]
        );
    }

    #[test]
    fn a_contact_needs_a_tax_id() {
        let mut input = company();
        input.partita_iva = None;
        assert_eq!(
            pointers(Contact::parse(&input)),
            [("/partita_iva".to_owned(), FieldCode::Required)]
        );
    }

    #[test]
    fn foreign_vat_ids_are_a_country_and_up_to_28_characters() {
        let mut input = company();
        input.sede.nazione = "DE".into();
        input.sede.provincia = String::new();
        input.partita_iva = Some(IdFiscaleIvaInput {
            paese: "DE".into(),
            codice: "123456789".into(),
        });
        let contact = parsed(&input);
        assert_eq!(contact.partita_iva.map(|p| p.paese).as_deref(), Some("DE"));
        input.partita_iva = Some(IdFiscaleIvaInput {
            paese: "XX".into(),
            codice: "A".repeat(29),
        });
        assert_eq!(
            pointers(Contact::parse(&input)),
            [
                ("/partita_iva/paese".to_owned(), FieldCode::InvalidNazione),
                (
                    "/partita_iva/codice".to_owned(),
                    FieldCode::InvalidPartitaIva
                ),
            ]
        );
    }

    #[test]
    fn an_italian_code_written_with_its_country_is_the_same_id() {
        let mut input = company();
        input.partita_iva = Some(IdFiscaleIvaInput {
            paese: "IT".into(),
            codice: "IT01234567897".into(),
        });
        let contact = parsed(&input);
        assert_eq!(
            contact.partita_iva.map(|p| p.codice).as_deref(),
            Some("01234567897")
        );
    }

    #[test]
    fn roles_and_kinds_read_back() {
        for role in ContactRole::ALL {
            assert_eq!(ContactRole::parse(role.as_str()), Some(role));
        }
        for kind in ContactKind::ALL {
            assert_eq!(ContactKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ContactRole::parse("Cliente"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_in_any_field_never_panics(
            denominazione in proptest::option::of(".{0,300}"),
            codice in ".{0,40}",
            paese in ".{0,4}",
            cf in proptest::option::of(".{0,20}"),
            email in proptest::option::of(".{0,80}"),
            cd in proptest::option::of(".{0,10}"),
        ) {
            let mut input = company();
            input.denominazione = denominazione;
            input.partita_iva = Some(IdFiscaleIvaInput { paese, codice });
            input.codice_fiscale = cf;
            input.email = email;
            input.codice_destinatario = cd;
            match Contact::parse(&input) {
                Ok(contact) => {
                    proptest::prop_assert!(contact.display_name().chars().count() <= MAX_DENOMINAZIONE);
                    if let Some(id) = contact.partita_iva {
                        proptest::prop_assert!(!id.codice.is_empty() && id.codice.len() <= MAX_ID_CODICE);
                    }
                }
                Err(errors) => {
                    proptest::prop_assert!(!errors.is_empty());
                    proptest::prop_assert!(errors.iter().all(|e| e.pointer.starts_with('/')));
                }
            }
        }
    }
}
