//! Step 1, `cedente_prestatore`: who issues the invoices. The tax ids are
//! the order holder's, shown and kept read-only.

use super::{Errors, StepFieldCode, StepFieldError};
use crate::email::EmailAddress;
use crate::holder::{Address, AddressCode, AddressInput, HolderName, PlaceCheck, is_phone};
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
    ) -> Result<CedentePrestatore, Vec<StepFieldError>> {
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
        let sede = match Address::parse(&input.sede, PlaceCheck::Known) {
            Ok(sede) => Some(sede),
            Err(address_errors) => {
                for error in address_errors {
                    let code = match error.code {
                        AddressCode::Required => StepFieldCode::Required,
                        AddressCode::TooLong => StepFieldCode::TooLong,
                        AddressCode::InvalidCap => StepFieldCode::InvalidCap,
                        AddressCode::InvalidProvincia => StepFieldCode::InvalidProvincia,
                        AddressCode::InvalidNazione => StepFieldCode::InvalidNazione,
                    };
                    errors.add(
                        format!("/sede/{}", error.field.as_str()),
                        code,
                        error.detail,
                    );
                }
                None
            }
        };
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
            errors.add(pointer, StepFieldCode::NotAllowed, detail);
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
                        StepFieldCode::InvalidCodiceIpa,
                        "the Codice IPA has 6 letters or digits",
                    );
                    None
                }
            }
        }
        (TipoAttivita::PubblicaAmministrazione, _) => {
            errors.add(
                "/codice_ipa",
                StepFieldCode::Required,
                "a pubblica amministrazione needs its Codice IPA",
            );
            None
        }
        (_, Some(_)) => {
            errors.add(
                "/codice_ipa",
                StepFieldCode::NotAllowed,
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
            StepFieldCode::ReadOnlyField,
            "the tax ids are the order holder's and cannot be changed here",
        );
    }
}

/// `None` when all the contatti are empty (or refused).
fn contatti(errors: &mut Errors, input: &ContattiInput) -> Option<Contatti> {
    let present = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let telefono = present(&input.telefono);
    if telefono.as_deref().is_some_and(|t| !is_phone(t)) {
        errors.add(
            "/contatti/telefono",
            StepFieldCode::InvalidPhone,
            "digits, spaces and + - / ( ) ., at least 6 digits, at most 20 characters",
        );
    }
    let mut email = |pointer: &str, value: Option<String>| {
        value.and_then(|v| match EmailAddress::parse(&v) {
            Ok(email) => Some(email),
            Err(error) => {
                errors.add(pointer, StepFieldCode::InvalidEmail, error.to_string());
                None
            }
        })
    };
    let contatti = Contatti {
        telefono,
        email: email("/contatti/email", present(&input.email)),
        pec: email("/contatti/pec", present(&input.pec)),
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
            StepFieldCode::InvalidProvincia,
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
                    StepFieldCode::InvalidAmount,
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
