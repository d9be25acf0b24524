//! Step 1, `cedente_prestatore`: who issues the invoices. The tax ids are
//! the order holder's, shown and kept read-only.

use super::{Errors, FieldCode, FieldError};
use crate::email::EmailAddress;
use crate::fields::present;
use crate::holder::{Address, AddressInput, HolderName, PlaceCheck, is_phone};
use crate::money::Money;
use crate::place::is_italian_provincia;
use crate::tax_id::{CodiceFiscale, PartitaIva};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipoAttivita {
    DittaIndividuale,
    LiberoProfessionista,
    Azienda,
    PubblicaAmministrazione,
}

impl TipoAttivita {
    pub const ALL: [TipoAttivita; 4] = [
        TipoAttivita::DittaIndividuale,
        TipoAttivita::LiberoProfessionista,
        TipoAttivita::Azienda,
        TipoAttivita::PubblicaAmministrazione,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TipoAttivita::DittaIndividuale => "ditta_individuale",
            TipoAttivita::LiberoProfessionista => "libero_professionista",
            TipoAttivita::Azienda => "azienda",
            TipoAttivita::PubblicaAmministrazione => "pubblica_amministrazione",
        }
    }

    pub fn parse(text: &str) -> Option<TipoAttivita> {
        TipoAttivita::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// An azienda or a PA is named by its denominazione, the others by
    /// nome and cognome.
    pub fn has_denominazione(self) -> bool {
        matches!(
            self,
            TipoAttivita::Azienda | TipoAttivita::PubblicaAmministrazione
        )
    }
}

/// The code of a PA office in the IPA index: 6 letters or digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodiceIpa(String);

impl CodiceIpa {
    pub fn parse(text: &str) -> Option<CodiceIpa> {
        let code = text.trim().to_ascii_uppercase();
        (code.len() == 6 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then_some(CodiceIpa(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocioUnico {
    /// SU: a single shareholder.
    SocioUnico,
    /// SM: more than one.
    PiuSoci,
}

impl SocioUnico {
    pub const ALL: [SocioUnico; 2] = [SocioUnico::SocioUnico, SocioUnico::PiuSoci];

    pub fn as_str(self) -> &'static str {
        match self {
            SocioUnico::SocioUnico => "SU",
            SocioUnico::PiuSoci => "SM",
        }
    }

    pub fn parse(text: &str) -> Option<SocioUnico> {
        SocioUnico::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatoLiquidazione {
    /// LS: in liquidazione.
    InLiquidazione,
    /// LN: not in liquidazione.
    NonInLiquidazione,
}

impl StatoLiquidazione {
    pub const ALL: [StatoLiquidazione; 2] = [
        StatoLiquidazione::InLiquidazione,
        StatoLiquidazione::NonInLiquidazione,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatoLiquidazione::InLiquidazione => "LS",
            StatoLiquidazione::NonInLiquidazione => "LN",
        }
    }

    pub fn parse(text: &str) -> Option<StatoLiquidazione> {
        StatoLiquidazione::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Contatti as received; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContattiInput {
    pub telefono: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contatti {
    pub telefono: Option<String>,
    pub email: Option<EmailAddress>,
    pub pec: Option<EmailAddress>,
}

/// Iscrizione REA as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaInput {
    pub ufficio: String,
    pub numero_rea: String,
    pub capitale_sociale: Option<String>,
    pub socio_unico: Option<String>,
    pub stato_liquidazione: String,
}

/// Iscrizione al REA, as FatturaPA's IscrizioneREA: the ufficio is the
/// sigla of the provincia of the Camera di Commercio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rea {
    pub ufficio: String,
    pub numero_rea: String,
    pub capitale_sociale: Option<Money>,
    pub socio_unico: Option<SocioUnico>,
    pub stato_liquidazione: StatoLiquidazione,
}

/// The `cedente_prestatore` body as received, before any check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CedentePrestatoreInput {
    pub tipo_attivita: String,
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    pub codice_ipa: Option<String>,
    /// Read-only: when sent, it must be the order holder's.
    pub partita_iva: Option<String>,
    /// Read-only: when sent, it must be the order holder's.
    pub codice_fiscale: Option<String>,
    pub sede: AddressInput,
    pub contatti: Option<ContattiInput>,
    pub rea: Option<ReaInput>,
}

/// The cedente/prestatore of every invoice the service will issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedentePrestatore {
    pub tipo_attivita: TipoAttivita,
    pub name: HolderName,
    /// Present exactly for a pubblica amministrazione.
    pub codice_ipa: Option<CodiceIpa>,
    /// The order holder's, copied.
    pub partita_iva: Option<PartitaIva>,
    /// The order holder's, copied.
    pub codice_fiscale: CodiceFiscale,
    pub sede: Address,
    pub contatti: Option<Contatti>,
    pub rea: Option<Rea>,
}

/// FatturaPA's lengths: Denominazione 80, Nome and Cognome 60 each.
const DENOMINAZIONE_MAX: usize = 80;
const NOME_MAX: usize = 60;
const NUMERO_REA_MAX: usize = 20;

impl CedentePrestatore {
    /// Parses the body, reporting every refused field at once. The
    /// Partita IVA and Codice Fiscale are the order holder's
    /// (`holder_partita_iva`, `holder_codice_fiscale`): sending either is
    /// allowed only with the same value (`read_only_field` otherwise).
    pub fn parse(
        input: &CedentePrestatoreInput,
        holder_partita_iva: Option<&PartitaIva>,
        holder_codice_fiscale: &CodiceFiscale,
    ) -> Result<CedentePrestatore, Vec<FieldError>> {
        let mut errors = Errors::default();
        let tipo = errors.choice(
            "/tipo_attivita",
            &input.tipo_attivita,
            &TipoAttivita::ALL,
            TipoAttivita::as_str,
        );
        let name = tipo.and_then(|tipo| name(&mut errors, input, tipo));
        let codice_ipa = tipo.and_then(|tipo| codice_ipa(&mut errors, input, tipo));
        read_only(
            &mut errors,
            "/partita_iva",
            input.partita_iva.as_deref(),
            holder_partita_iva.map(PartitaIva::as_str),
        );
        read_only(
            &mut errors,
            "/codice_fiscale",
            input.codice_fiscale.as_deref(),
            Some(holder_codice_fiscale.as_str()),
        );
        let sede = errors.address("/sede", &input.sede, PlaceCheck::Known);
        let contatti = input
            .contatti
            .as_ref()
            .and_then(|c| contatti(&mut errors, c));
        let rea = match input.rea.as_ref() {
            Some(input) => rea(&mut errors, input).map(Some),
            None => Some(None),
        };
        let cedente = match (tipo, name, codice_ipa, sede, rea) {
            (Some(tipo_attivita), Some(name), Some(codice_ipa), Some(sede), Some(rea)) => {
                Some(CedentePrestatore {
                    tipo_attivita,
                    name,
                    codice_ipa,
                    partita_iva: holder_partita_iva.cloned(),
                    codice_fiscale: holder_codice_fiscale.clone(),
                    sede,
                    contatti,
                    rea,
                })
            }
            _ => None,
        };
        errors.finish(cedente)
    }
}

fn name(
    errors: &mut Errors,
    input: &CedentePrestatoreInput,
    tipo: TipoAttivita,
) -> Option<HolderName> {
    let mut not_allowed = |pointer: &str, present: bool, detail: &str| {
        if present {
            errors.add(pointer, FieldCode::NotAllowed, detail);
        }
    };
    if tipo.has_denominazione() {
        let detail = "an azienda or a PA is named by its denominazione only";
        not_allowed("/nome", input.nome.is_some(), detail);
        not_allowed("/cognome", input.cognome.is_some(), detail);
        errors
            .text(
                "/denominazione",
                input.denominazione.as_deref(),
                DENOMINAZIONE_MAX,
            )
            .map(HolderName::Denominazione)
    } else {
        not_allowed(
            "/denominazione",
            input.denominazione.is_some(),
            "a ditta individuale or a libero professionista is named by nome and cognome",
        );
        let nome = errors.text("/nome", input.nome.as_deref(), NOME_MAX);
        let cognome = errors.text("/cognome", input.cognome.as_deref(), NOME_MAX);
        nome.zip(cognome)
            .map(|(nome, cognome)| HolderName::Persona { nome, cognome })
    }
}

/// `Some(None)` when there is rightly none, `None` when refused.
fn codice_ipa(
    errors: &mut Errors,
    input: &CedentePrestatoreInput,
    tipo: TipoAttivita,
) -> Option<Option<CodiceIpa>> {
    match (tipo, input.codice_ipa.as_deref()) {
        (TipoAttivita::PubblicaAmministrazione, Some(code)) if !code.trim().is_empty() => {
            match CodiceIpa::parse(code) {
                Some(code) => Some(Some(code)),
                None => {
                    errors.add(
                        "/codice_ipa",
                        FieldCode::InvalidCodiceIpa,
                        "the Codice IPA has 6 letters or digits",
                    );
                    None
                }
            }
        }
        (TipoAttivita::PubblicaAmministrazione, _) => {
            errors.add(
                "/codice_ipa",
                FieldCode::Required,
                "a pubblica amministrazione needs its Codice IPA",
            );
            None
        }
        (_, Some(_)) => {
            errors.add(
                "/codice_ipa",
                FieldCode::NotAllowed,
                "only a pubblica amministrazione has a Codice IPA",
            );
            None
        }
        (_, None) => Some(None),
    }
}

/// A read-only tax id may be sent back, unchanged (spaces and case aside).
fn read_only(errors: &mut Errors, pointer: &str, sent: Option<&str>, holder: Option<&str>) {
    if let Some(sent) = sent
        && Some(sent.trim().to_ascii_uppercase().as_str()) != holder
    {
        errors.add(
            pointer,
            FieldCode::ReadOnlyField,
            "the tax ids are the order holder's and cannot be changed here",
        );
    }
}

/// `None` when all the contatti are empty (or refused).
fn contatti(errors: &mut Errors, input: &ContattiInput) -> Option<Contatti> {
    let telefono = present(input.telefono.as_deref());
    if telefono.as_deref().is_some_and(|t| !is_phone(t)) {
        errors.add(
            "/contatti/telefono",
            FieldCode::InvalidPhone,
            "digits, spaces and + - / ( ) ., at least 6 digits, at most 20 characters",
        );
    }
    let contatti = Contatti {
        telefono,
        email: errors.email("/contatti/email", input.email.as_deref()),
        pec: errors.email("/contatti/pec", input.pec.as_deref()),
    };
    (contatti != Contatti::default()).then_some(contatti)
}

/// `None` when refused.
fn rea(errors: &mut Errors, input: &ReaInput) -> Option<Rea> {
    let ufficio = input.ufficio.trim().to_ascii_uppercase();
    let ufficio_ok = is_italian_provincia(&ufficio);
    if !ufficio_ok {
        errors.add(
            "/rea/ufficio",
            FieldCode::InvalidProvincia,
            "the sigla of the provincia of the Camera di Commercio, e.g. MI",
        );
    }
    let numero_rea = errors.text("/rea/numero_rea", Some(&input.numero_rea), NUMERO_REA_MAX);
    let capitale_sociale = match input.capitale_sociale.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => match Money::parse(text) {
            Ok(amount) => Some(Some(amount)),
            Err(error) => {
                errors.add(
                    "/rea/capitale_sociale",
                    FieldCode::InvalidAmount,
                    error.to_string(),
                );
                None
            }
        },
        _ => Some(None),
    };
    let socio_unico = match input.socio_unico.as_deref() {
        Some(text) => errors
            .choice(
                "/rea/socio_unico",
                text,
                &SocioUnico::ALL,
                SocioUnico::as_str,
            )
            .map(Some),
        None => Some(None),
    };
    let stato_liquidazione = errors.choice(
        "/rea/stato_liquidazione",
        &input.stato_liquidazione,
        &StatoLiquidazione::ALL,
        StatoLiquidazione::as_str,
    );
    match (
        ufficio_ok,
        numero_rea,
        capitale_sociale,
        socio_unico,
        stato_liquidazione,
    ) {
        (
            true,
            Some(numero_rea),
            Some(capitale_sociale),
            Some(socio_unico),
            Some(stato_liquidazione),
        ) => Some(Rea {
            ufficio,
            numero_rea,
            capitale_sociale,
            socio_unico,
            stato_liquidazione,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder_ids() -> (PartitaIva, CodiceFiscale) {
        let piva = PartitaIva::parse("01234567897").unwrap_or_else(|e| panic!("{e}"));
        let cf = CodiceFiscale::parse("01234567897").unwrap_or_else(|e| panic!("{e}"));
        (piva, cf)
    }

    fn sede() -> AddressInput {
        AddressInput {
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "mi".into(),
            nazione: "it".into(),
        }
    }

    fn azienda() -> CedentePrestatoreInput {
        CedentePrestatoreInput {
            tipo_attivita: "azienda".into(),
            denominazione: Some(" Alfa S.r.l. ".into()),
            sede: sede(),
            ..CedentePrestatoreInput::default()
        }
    }

    fn parse(input: &CedentePrestatoreInput) -> Result<CedentePrestatore, Vec<FieldError>> {
        let (piva, cf) = holder_ids();
        CedentePrestatore::parse(input, Some(&piva), &cf)
    }

    fn refused(input: &CedentePrestatoreInput) -> Vec<(String, FieldCode)> {
        parse(input)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.pointer, e.code))
            .collect()
    }

    fn at(pointer: &str, code: FieldCode) -> (String, FieldCode) {
        (pointer.to_owned(), code)
    }

    #[test]
    fn an_azienda_parses_with_the_holders_tax_ids() {
        let cedente = parse(&azienda()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cedente.tipo_attivita, TipoAttivita::Azienda);
        assert_eq!(
            cedente.name,
            HolderName::Denominazione("Alfa S.r.l.".into())
        );
        assert_eq!(
            cedente.partita_iva.as_ref().map(PartitaIva::as_str),
            Some("01234567897")
        );
        assert_eq!(cedente.codice_fiscale.as_str(), "01234567897");
        assert_eq!(
            (
                cedente.sede.provincia.as_str(),
                cedente.sede.nazione.as_str()
            ),
            ("MI", "IT")
        );
        assert_eq!(
            (cedente.codice_ipa, cedente.contatti, cedente.rea),
            (None, None, None)
        );
    }

    #[test]
    fn a_professional_is_named_by_nome_and_cognome_only() {
        let input = CedentePrestatoreInput {
            tipo_attivita: "libero_professionista".into(),
            denominazione: None,
            nome: Some("Mario".into()),
            cognome: Some("Rossi".into()),
            ..azienda()
        };
        let cedente = parse(&input).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            cedente.name,
            HolderName::Persona {
                nome: "Mario".into(),
                cognome: "Rossi".into()
            }
        );
        let ditta_with_denominazione = CedentePrestatoreInput {
            tipo_attivita: "ditta_individuale".into(),
            nome: None,
            denominazione: Some("Rossi Mario".into()),
            ..input
        };
        assert_eq!(
            refused(&ditta_with_denominazione),
            [
                at("/denominazione", FieldCode::NotAllowed),
                at("/nome", FieldCode::Required)
            ]
        );
        let azienda_with_nome = CedentePrestatoreInput {
            nome: Some("Mario".into()),
            denominazione: Some("x".repeat(81)),
            ..azienda()
        };
        assert_eq!(
            refused(&azienda_with_nome),
            [
                at("/nome", FieldCode::NotAllowed),
                at("/denominazione", FieldCode::TooLong)
            ]
        );
    }

    #[test]
    fn a_pa_needs_its_codice_ipa_and_no_one_else_has_one() {
        let pa = CedentePrestatoreInput {
            tipo_attivita: "pubblica_amministrazione".into(),
            denominazione: Some("Comune di Milano".into()),
            ..azienda()
        };
        assert_eq!(refused(&pa), [at("/codice_ipa", FieldCode::Required)]);
        let blank = CedentePrestatoreInput {
            codice_ipa: Some("  ".into()),
            ..pa.clone()
        };
        assert_eq!(refused(&blank), [at("/codice_ipa", FieldCode::Required)]);
        for wrong in ["ABC12", "ABC1234", "ABC-12", "ÀBC123"] {
            let input = CedentePrestatoreInput {
                codice_ipa: Some(wrong.into()),
                ..pa.clone()
            };
            assert_eq!(
                refused(&input),
                [at("/codice_ipa", FieldCode::InvalidCodiceIpa)],
                "{wrong}"
            );
        }
        let with_code = CedentePrestatoreInput {
            codice_ipa: Some("ufxyz1".into()),
            ..pa
        };
        let cedente = parse(&with_code).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            cedente.codice_ipa.as_ref().map(CodiceIpa::as_str),
            Some("UFXYZ1")
        );
        let azienda_with_code = CedentePrestatoreInput {
            codice_ipa: Some("UFXYZ1".into()),
            ..azienda()
        };
        assert_eq!(
            refused(&azienda_with_code),
            [at("/codice_ipa", FieldCode::NotAllowed)]
        );
    }

    #[test]
    fn the_tax_ids_may_be_sent_back_only_unchanged() {
        let same = CedentePrestatoreInput {
            partita_iva: Some(" 01234567897 ".into()),
            codice_fiscale: Some("01234567897".into()),
            ..azienda()
        };
        assert!(parse(&same).is_ok());
        let changed = CedentePrestatoreInput {
            partita_iva: Some("12345678903".into()),
            codice_fiscale: Some("RSSMRA85T10A562S".into()),
            ..azienda()
        };
        assert_eq!(
            refused(&changed),
            [
                at("/partita_iva", FieldCode::ReadOnlyField),
                at("/codice_fiscale", FieldCode::ReadOnlyField)
            ]
        );
        // A holder without a Partita IVA: none may be added here.
        let cf = CodiceFiscale::parse("RSSMRA85T10A562S").unwrap_or_else(|e| panic!("{e}"));
        let person = CedentePrestatoreInput {
            tipo_attivita: "ditta_individuale".into(),
            denominazione: None,
            nome: Some("Mario".into()),
            cognome: Some("Rossi".into()),
            partita_iva: Some("01234567897".into()),
            codice_fiscale: Some("rssmra85t10a562s".into()),
            ..azienda()
        };
        let errors = CedentePrestatore::parse(&person, None, &cf)
            .err()
            .unwrap_or_default();
        assert_eq!(
            errors
                .iter()
                .map(|e| (e.pointer.as_str(), e.code))
                .collect::<Vec<_>>(),
            [("/partita_iva", FieldCode::ReadOnlyField)]
        );
    }

    #[test]
    fn the_sede_needs_a_real_cap_provincia_and_nazione_in_italy() {
        let wrong = CedentePrestatoreInput {
            sede: AddressInput {
                cap: "2012".into(),
                provincia: "MX".into(),
                ..sede()
            },
            ..azienda()
        };
        assert_eq!(
            refused(&wrong),
            [
                at("/sede/cap", FieldCode::InvalidCap),
                at("/sede/provincia", FieldCode::InvalidProvincia)
            ]
        );
        let unknown_country = CedentePrestatoreInput {
            sede: AddressInput {
                nazione: "UK".into(),
                ..sede()
            },
            ..azienda()
        };
        assert_eq!(
            refused(&unknown_country),
            [at("/sede/nazione", FieldCode::InvalidNazione)]
        );
    }

    #[test]
    fn a_foreign_sede_keeps_its_own_postcode() {
        let foreign = CedentePrestatoreInput {
            sede: AddressInput {
                indirizzo: "Baker Street".into(),
                numero_civico: "221B".into(),
                cap: "NW1 6XE".into(),
                comune: "London".into(),
                provincia: String::new(),
                nazione: "GB".into(),
            },
            ..azienda()
        };
        let cedente = parse(&foreign).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (cedente.sede.cap.as_str(), cedente.sede.provincia.as_str()),
            ("NW1 6XE", "")
        );
        let long_provincia = CedentePrestatoreInput {
            sede: AddressInput {
                provincia: "Greater London".into(),
                ..foreign.sede.clone()
            },
            ..foreign
        };
        assert_eq!(
            refused(&long_provincia),
            [at("/sede/provincia", FieldCode::InvalidProvincia)]
        );
    }

    #[test]
    fn contatti_are_optional_and_checked_when_present() {
        let with = CedentePrestatoreInput {
            contatti: Some(ContattiInput {
                telefono: Some("+39 02 1234567".into()),
                email: Some("info@alfa.it".into()),
                pec: None,
            }),
            ..azienda()
        };
        let contatti = parse(&with)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .contatti
            .unwrap_or_default();
        assert_eq!(contatti.telefono.as_deref(), Some("+39 02 1234567"));
        assert_eq!(
            contatti.email.as_ref().map(EmailAddress::as_str),
            Some("info@alfa.it")
        );
        assert_eq!(contatti.pec, None);
        let empty = CedentePrestatoreInput {
            contatti: Some(ContattiInput {
                telefono: Some(" ".into()),
                ..ContattiInput::default()
            }),
            ..azienda()
        };
        assert_eq!(parse(&empty).map(|c| c.contatti), Ok(None));
        let wrong = CedentePrestatoreInput {
            contatti: Some(ContattiInput {
                telefono: Some("call me".into()),
                email: Some("info".into()),
                pec: Some("pec@".into()),
            }),
            ..azienda()
        };
        assert_eq!(
            refused(&wrong),
            [
                at("/contatti/telefono", FieldCode::InvalidPhone),
                at("/contatti/email", FieldCode::InvalidEmail),
                at("/contatti/pec", FieldCode::InvalidEmail)
            ]
        );
    }

    fn rea() -> ReaInput {
        ReaInput {
            ufficio: "mi".into(),
            numero_rea: "1234567".into(),
            capitale_sociale: Some("10000.00".into()),
            socio_unico: Some("SU".into()),
            stato_liquidazione: "LN".into(),
        }
    }

    #[test]
    fn the_rea_iscrizione_is_checked_field_by_field() {
        let with = CedentePrestatoreInput {
            rea: Some(rea()),
            ..azienda()
        };
        let parsed = parse(&with).unwrap_or_else(|e| panic!("{e:?}")).rea;
        assert_eq!(
            parsed,
            Some(Rea {
                ufficio: "MI".into(),
                numero_rea: "1234567".into(),
                capitale_sociale: Some(Money::from_cents(1_000_000)),
                socio_unico: Some(SocioUnico::SocioUnico),
                stato_liquidazione: StatoLiquidazione::NonInLiquidazione,
            })
        );
        let minimal = CedentePrestatoreInput {
            rea: Some(ReaInput {
                capitale_sociale: None,
                socio_unico: None,
                stato_liquidazione: "LS".into(),
                ..rea()
            }),
            ..azienda()
        };
        let parsed = parse(&minimal).unwrap_or_else(|e| panic!("{e:?}")).rea;
        assert_eq!(
            parsed.map(|r| (r.capitale_sociale, r.socio_unico, r.stato_liquidazione)),
            Some((None, None, StatoLiquidazione::InLiquidazione))
        );
        let wrong = CedentePrestatoreInput {
            rea: Some(ReaInput {
                ufficio: "XX".into(),
                numero_rea: String::new(),
                capitale_sociale: Some("10.000,00".into()),
                socio_unico: Some("SX".into()),
                stato_liquidazione: "ln".into(),
            }),
            ..azienda()
        };
        assert_eq!(
            refused(&wrong),
            [
                at("/rea/ufficio", FieldCode::InvalidProvincia),
                at("/rea/numero_rea", FieldCode::Required),
                at("/rea/capitale_sociale", FieldCode::InvalidAmount),
                at("/rea/socio_unico", FieldCode::InvalidValue),
                at("/rea/stato_liquidazione", FieldCode::InvalidValue)
            ]
        );
    }

    #[test]
    fn every_refused_field_is_reported_together() {
        let input = CedentePrestatoreInput {
            tipo_attivita: "pubblica_amministrazione".into(),
            denominazione: None,
            codice_ipa: Some("12".into()),
            partita_iva: Some("99999999999".into()),
            sede: AddressInput {
                cap: "ABCDE".into(),
                provincia: "ZZ".into(),
                comune: String::new(),
                ..sede()
            },
            contatti: Some(ContattiInput {
                email: Some("nope".into()),
                ..ContattiInput::default()
            }),
            rea: Some(ReaInput {
                stato_liquidazione: String::new(),
                ..rea()
            }),
            ..azienda()
        };
        assert_eq!(
            refused(&input),
            [
                at("/denominazione", FieldCode::Required),
                at("/codice_ipa", FieldCode::InvalidCodiceIpa),
                at("/partita_iva", FieldCode::ReadOnlyField),
                at("/sede/cap", FieldCode::InvalidCap),
                at("/sede/provincia", FieldCode::InvalidProvincia),
                at("/sede/comune", FieldCode::Required),
                at("/contatti/email", FieldCode::InvalidEmail),
                at("/rea/stato_liquidazione", FieldCode::InvalidValue)
            ]
        );
        let unknown_kind = CedentePrestatoreInput {
            tipo_attivita: "srl".into(),
            ..azienda()
        };
        assert_eq!(
            refused(&unknown_kind),
            [at("/tipo_attivita", FieldCode::InvalidValue)]
        );
    }

    #[test]
    fn the_closed_sets_spell_as_the_api_does() {
        for tipo in TipoAttivita::ALL {
            assert_eq!(TipoAttivita::parse(tipo.as_str()), Some(tipo));
        }
        assert_eq!(
            TipoAttivita::ALL.map(TipoAttivita::has_denominazione),
            [false, false, true, true]
        );
        assert_eq!(SocioUnico::parse("SM"), Some(SocioUnico::PiuSoci));
        assert_eq!(
            StatoLiquidazione::parse("LS"),
            Some(StatoLiquidazione::InLiquidazione)
        );
        assert_eq!(SocioUnico::parse("su"), None);
    }
}
