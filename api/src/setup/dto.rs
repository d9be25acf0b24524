//! The wizard's step bodies as the API reads, stores and shows them, and
//! the wizard as `GET /v1/panel/setup` shows it. A body is read with
//! unknown fields refused, checked against its schema's lengths, then
//! handed to the domain (`domain::wizard`) as its `*Input`; what is stored
//! is the body re-serialised from these DTOs (the canonical JSON).

use crate::http::codes::ErrorCode;
use crate::http::json::Validate;
use crate::http::problem::FieldError;
use crate::shared::holder::AddressDto;
use chrono::{DateTime, Utc};
use domain::wizard::{
    AvvisiInput, AvvisoInput, CassaInput, CasseInput, CedentePrestatoreInput, ContattiInput,
    PreferenzeDocumentoInput, ReaInput, RegimeInput,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Length limits of the schema, checked on the text as sent (the domain
/// trims it): `(pointer, text, min, max)`.
fn length_errors<'a>(
    fields: impl IntoIterator<Item = (&'static str, Option<&'a str>, usize, usize)>,
) -> Vec<FieldError> {
    fields
        .into_iter()
        .filter_map(|(pointer, text, min, max)| {
            let text = text?;
            (!(min..=max).contains(&text.chars().count())).then(|| {
                FieldError::new(
                    pointer,
                    ErrorCode::InvalidLength,
                    format!("{min} to {max} characters"),
                )
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TipoAttivitaDto {
    DittaIndividuale,
    LiberoProfessionista,
    Azienda,
    PubblicaAmministrazione,
}

impl TipoAttivitaDto {
    fn as_str(self) -> &'static str {
        match self {
            TipoAttivitaDto::DittaIndividuale => "ditta_individuale",
            TipoAttivitaDto::LiberoProfessionista => "libero_professionista",
            TipoAttivitaDto::Azienda => "azienda",
            TipoAttivitaDto::PubblicaAmministrazione => "pubblica_amministrazione",
        }
    }
}

/// The optional contacts of the cedente.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContattiDto {
    #[schema(example = "+39 02 1234567", max_length = 20)]
    pub telefono: Option<String>,
    #[schema(example = "amministrazione@alfa.example", max_length = 254)]
    pub email: Option<String>,
    #[schema(example = "alfa@pec.example", max_length = 254)]
    pub pec: Option<String>,
}

/// `SU` (socio unico) or `SM` (più soci).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SocioUnicoDto {
    #[serde(rename = "SU")]
    Su,
    #[serde(rename = "SM")]
    Sm,
}

/// `LS` (in liquidazione) or `LN` (non in liquidazione).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum StatoLiquidazioneDto {
    #[serde(rename = "LS")]
    Ls,
    #[serde(rename = "LN")]
    Ln,
}

/// The optional iscrizione REA.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReaDto {
    /// The sigla of the provincia of the Camera di Commercio.
    #[schema(example = "MI", min_length = 2, max_length = 2)]
    pub ufficio: String,
    #[schema(example = "MI-1234567", min_length = 1, max_length = 20)]
    pub numero_rea: String,
    /// Euro with up to two decimals, e.g. `10000.00`.
    #[schema(example = "10000.00", max_length = 12)]
    pub capitale_sociale: Option<String>,
    pub socio_unico: Option<SocioUnicoDto>,
    pub stato_liquidazione: StatoLiquidazioneDto,
}

/// Step 1, `cedente_prestatore`: who issues the invoices.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "tipo_attivita": "azienda",
    "denominazione": "Alfa S.r.l.",
    "sede": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121", "comune": "Milano", "provincia": "MI", "nazione": "IT"},
    "contatti": {"telefono": "+39 02 1234567", "email": "amministrazione@alfa.example", "pec": "alfa@pec.example"},
    "rea": {"ufficio": "MI", "numero_rea": "MI-1234567", "capitale_sociale": "10000.00", "socio_unico": "SM", "stato_liquidazione": "LN"}
}))]
pub struct CedentePrestatoreBody {
    pub tipo_attivita: TipoAttivitaDto,
    /// An azienda or a PA only; at most 80 characters.
    #[schema(example = "Alfa S.r.l.", max_length = 80)]
    pub denominazione: Option<String>,
    /// A ditta individuale or a libero professionista only.
    #[schema(example = "Mario", max_length = 60)]
    pub nome: Option<String>,
    /// A ditta individuale or a libero professionista only.
    #[schema(example = "Rossi", max_length = 60)]
    pub cognome: Option<String>,
    /// Required for a pubblica amministrazione (only): 6 letters or digits.
    #[schema(example = "UF1234", min_length = 6, max_length = 6)]
    pub codice_ipa: Option<String>,
    /// Read-only: the order holder's. May be sent back unchanged; another
    /// value is refused (`read_only_field`).
    #[schema(example = "01234567897", max_length = 16)]
    pub partita_iva: Option<String>,
    /// Read-only: the order holder's. May be sent back unchanged; another
    /// value is refused (`read_only_field`).
    #[schema(example = "01234567897", max_length = 16)]
    pub codice_fiscale: Option<String>,
    pub sede: AddressDto,
    pub contatti: Option<ContattiDto>,
    pub rea: Option<ReaDto>,
}

// The lengths are checked with the step's rules (`StepBody::lengths`), so
// that every refused field is reported at once.
impl Validate for CedentePrestatoreBody {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl CedentePrestatoreBody {
    /// The schema's lengths, on the text as sent.
    pub fn lengths(&self) -> Vec<FieldError> {
        let s = &self.sede;
        let mut fields = vec![
            ("/denominazione", self.denominazione.as_deref(), 0, 80),
            ("/nome", self.nome.as_deref(), 0, 60),
            ("/cognome", self.cognome.as_deref(), 0, 60),
            ("/codice_ipa", self.codice_ipa.as_deref(), 6, 6),
            ("/partita_iva", self.partita_iva.as_deref(), 0, 16),
            ("/codice_fiscale", self.codice_fiscale.as_deref(), 0, 16),
            ("/sede/indirizzo", Some(s.indirizzo.as_str()), 1, 200),
            ("/sede/numero_civico", Some(s.numero_civico.as_str()), 1, 20),
            ("/sede/cap", Some(s.cap.as_str()), 0, 10),
            ("/sede/comune", Some(s.comune.as_str()), 1, 100),
            ("/sede/provincia", Some(s.provincia.as_str()), 0, 5),
            ("/sede/nazione", Some(s.nazione.as_str()), 2, 2),
        ];
        if let Some(c) = &self.contatti {
            fields.push(("/contatti/telefono", c.telefono.as_deref(), 0, 20));
            fields.push(("/contatti/email", c.email.as_deref(), 0, 254));
            fields.push(("/contatti/pec", c.pec.as_deref(), 0, 254));
        }
        if let Some(r) = &self.rea {
            fields.push(("/rea/ufficio", Some(r.ufficio.as_str()), 2, 2));
            fields.push(("/rea/numero_rea", Some(r.numero_rea.as_str()), 1, 20));
            fields.push((
                "/rea/capitale_sociale",
                r.capitale_sociale.as_deref(),
                0,
                12,
            ));
        }
        length_errors(fields)
    }
}

impl CedentePrestatoreBody {
    pub fn input(&self) -> CedentePrestatoreInput {
        CedentePrestatoreInput {
            tipo_attivita: self.tipo_attivita.as_str().to_owned(),
            denominazione: self.denominazione.clone(),
            nome: self.nome.clone(),
            cognome: self.cognome.clone(),
            codice_ipa: self.codice_ipa.clone(),
            partita_iva: self.partita_iva.clone(),
            codice_fiscale: self.codice_fiscale.clone(),
            sede: self.sede.input(),
            contatti: self.contatti.as_ref().map(|c| ContattiInput {
                telefono: c.telefono.clone(),
                email: c.email.clone(),
                pec: c.pec.clone(),
            }),
            rea: self.rea.as_ref().map(|r| ReaInput {
                ufficio: r.ufficio.clone(),
                numero_rea: r.numero_rea.clone(),
                capitale_sociale: r.capitale_sociale.clone(),
                socio_unico: r.socio_unico.map(|s| {
                    match s {
                        SocioUnicoDto::Su => "SU",
                        SocioUnicoDto::Sm => "SM",
                    }
                    .to_owned()
                }),
                stato_liquidazione: match r.stato_liquidazione {
                    StatoLiquidazioneDto::Ls => "LS",
                    StatoLiquidazioneDto::Ln => "LN",
                }
                .to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EsigibilitaIvaDto {
    Immediata,
    Differita,
    ScissionePagamenti,
}

/// Step 2, `regime_fiscale`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"regime_fiscale": "RF01", "esigibilita_iva": "immediata"}))]
pub struct RegimeFiscaleBody {
    /// RF01 to RF19; there is no RF03.
    #[schema(example = "RF01", pattern = "^RF(0[124-9]|1[0-9])$")]
    pub regime_fiscale: String,
    pub esigibilita_iva: EsigibilitaIvaDto,
}

impl Validate for RegimeFiscaleBody {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl RegimeFiscaleBody {
    pub fn input(&self) -> RegimeInput {
        RegimeInput {
            regime_fiscale: self.regime_fiscale.clone(),
            esigibilita_iva: match self.esigibilita_iva {
                EsigibilitaIvaDto::Immediata => "immediata",
                EsigibilitaIvaDto::Differita => "differita",
                EsigibilitaIvaDto::ScissionePagamenti => "scissione_pagamenti",
            }
            .to_owned(),
        }
    }
}

/// One cassa previdenziale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CassaDto {
    /// TC01 to TC22; each at most once.
    #[schema(example = "TC22", pattern = "^TC(0[1-9]|1[0-9]|2[0-2])$")]
    pub tipo_cassa: String,
    /// The contribution's rate: 0.00 to 100.00, two decimals.
    #[schema(example = "4.00", pattern = r"^(100\.00|[1-9]?[0-9]\.[0-9]{2})$")]
    pub aliquota: String,
    /// The share of the taxable amount the contribution is computed on.
    #[schema(example = "100.00", pattern = r"^(100\.00|[1-9]?[0-9]\.[0-9]{2})$")]
    pub imponibile_percentuale: String,
    /// The IVA rate on the contribution; absent or 0.00 with a `natura`.
    #[schema(example = "22.00", pattern = r"^(100\.00|[1-9]?[0-9]\.[0-9]{2})$")]
    pub aliquota_iva: Option<String>,
    /// Why there is no IVA: N1, N2.1, N2.2, N3.1-N3.6, N4, N5, N6.1-N6.9, N7.
    #[schema(example = "N4", pattern = r"^N(1|2\.[12]|3\.[1-6]|4|5|6\.[1-9]|7)$")]
    pub natura: Option<String>,
    /// The contribution is subject to the ritenuta d'acconto.
    pub ritenuta: bool,
}

/// Step 3, `cassa_previdenziale`: 0 to 3 casse.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"casse": [{"tipo_cassa": "TC22", "aliquota": "4.00", "imponibile_percentuale": "100.00", "aliquota_iva": "22.00", "ritenuta": false}]}))]
pub struct CassaPrevidenzialeBody {
    #[schema(max_items = 3)]
    pub casse: Vec<CassaDto>,
}

impl Validate for CassaPrevidenzialeBody {
    fn validate(&self) -> Vec<FieldError> {
        // More than 3 casse, a repeated tipo_cassa, a natura beside a
        // rate: the domain refuses them, every one at once.
        Vec::new()
    }
}

impl CassaPrevidenzialeBody {
    pub fn input(&self) -> CasseInput {
        CasseInput {
            casse: self
                .casse
                .iter()
                .map(|c| CassaInput {
                    tipo_cassa: c.tipo_cassa.clone(),
                    aliquota: c.aliquota.clone(),
                    imponibile_percentuale: c.imponibile_percentuale.clone(),
                    aliquota_iva: c.aliquota_iva.clone(),
                    natura: c.natura.clone(),
                    ritenuta: c.ritenuta,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrezziDto {
    /// Prices typed without IVA.
    Netti,
    /// Prices typed with IVA included.
    Lordi,
}

/// Step 4, `preferenze_documento`: the defaults of a new document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tipo_documento": "TD01", "prezzi": "netti"}))]
pub struct PreferenzeDocumentoBody {
    /// A FatturaPA TipoDocumento: TD01-TD06 or TD16-TD29.
    #[schema(example = "TD01", pattern = "^TD(0[1-6]|1[6-9]|2[0-9])$")]
    pub tipo_documento: String,
    pub prezzi: PrezziDto,
}

impl Validate for PreferenzeDocumentoBody {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl PreferenzeDocumentoBody {
    pub fn input(&self) -> PreferenzeDocumentoInput {
        PreferenzeDocumentoInput {
            tipo_documento: self.tipo_documento.clone(),
            prezzi: match self.prezzi {
                PrezziDto::Netti => "netti",
                PrezziDto::Lordi => "lordi",
            }
            .to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CanaleDto {
    Pec,
    Email,
}

/// Where one kind of notice goes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvvisoDto {
    pub canale: CanaleDto,
    #[schema(example = "alfa@pec.example", min_length = 1, max_length = 254)]
    pub indirizzo: String,
}

/// Step 5, `avvisi`: where SdI's notifications and the received invoices
/// are announced.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "notifiche_sdi": {"canale": "pec", "indirizzo": "alfa@pec.example"},
    "fatture_ricevute": {"canale": "email", "indirizzo": "amministrazione@alfa.example"}
}))]
pub struct AvvisiBody {
    pub notifiche_sdi: AvvisoDto,
    pub fatture_ricevute: AvvisoDto,
}

impl Validate for AvvisiBody {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

impl AvvisiBody {
    /// The schema's lengths, on the text as sent.
    pub fn lengths(&self) -> Vec<FieldError> {
        length_errors([
            (
                "/notifiche_sdi/indirizzo",
                Some(self.notifiche_sdi.indirizzo.as_str()),
                1,
                254,
            ),
            (
                "/fatture_ricevute/indirizzo",
                Some(self.fatture_ricevute.indirizzo.as_str()),
                1,
                254,
            ),
        ])
    }
}

fn avviso_input(avviso: &AvvisoDto) -> AvvisoInput {
    AvvisoInput {
        canale: match avviso.canale {
            CanaleDto::Pec => "pec",
            CanaleDto::Email => "email",
        }
        .to_owned(),
        indirizzo: avviso.indirizzo.clone(),
    }
}

impl AvvisiBody {
    pub fn input(&self) -> AvvisiInput {
        AvvisiInput {
            notifiche_sdi: avviso_input(&self.notifiche_sdi),
            fatture_ricevute: avviso_input(&self.fatture_ricevute),
        }
    }
}

/// A step's body, whichever step it is (the step is the path's).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StepBody {
    /// Boxed: several times the size of the others.
    CedentePrestatore(Box<CedentePrestatoreBody>),
    RegimeFiscale(RegimeFiscaleBody),
    CassaPrevidenziale(CassaPrevidenzialeBody),
    PreferenzeDocumento(PreferenzeDocumentoBody),
    Avvisi(AvvisiBody),
}

impl StepBody {
    /// The schema's length limits the body breaks (the domain trims the
    /// text, so a schema-invalid length could otherwise pass).
    pub fn lengths(&self) -> Vec<FieldError> {
        match self {
            StepBody::CedentePrestatore(body) => body.lengths(),
            StepBody::Avvisi(body) => body.lengths(),
            StepBody::RegimeFiscale(_)
            | StepBody::CassaPrevidenziale(_)
            | StepBody::PreferenzeDocumento(_) => Vec::new(),
        }
    }
}

/// `todo` (not saved yet) or `saved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStateDto {
    Todo,
    Saved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    CedentePrestatore,
    RegimeFiscale,
    CassaPrevidenziale,
    PreferenzeDocumento,
    Avvisi,
}

impl From<domain::wizard::Step> for StepName {
    fn from(step: domain::wizard::Step) -> Self {
        use domain::wizard::Step;
        match step {
            Step::CedentePrestatore => StepName::CedentePrestatore,
            Step::RegimeFiscale => StepName::RegimeFiscale,
            Step::CassaPrevidenziale => StepName::CassaPrevidenziale,
            Step::PreferenzeDocumento => StepName::PreferenzeDocumento,
            Step::Avvisi => StepName::Avvisi,
        }
    }
}

/// One step of the wizard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepDto {
    pub step: StepName,
    pub state: StepStateDto,
    /// The saved body (the cedente's with the holder's tax ids filled in);
    /// null until saved.
    pub data: Option<StepBody>,
    pub saved_at: Option<DateTime<Utc>>,
}

/// The order holder's tax ids: shown pre-filled in `cedente_prestatore`
/// and read-only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadOnlyTaxIds {
    /// Null for a holder without one.
    #[schema(example = "01234567897")]
    pub partita_iva: Option<String>,
    #[schema(example = "01234567897")]
    pub codice_fiscale: String,
}

/// `not_started`, `in_progress` or `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetupStatusDto {
    NotStarted,
    InProgress,
    Completed,
}

/// The FE configuration wizard of the panel user's service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupDto {
    pub service_id: Uuid,
    /// The service's status: `awaiting_configuration` until the wizard is
    /// completed, then `active` (or a later one: `expired`, `suspended`,
    /// `cancelled`).
    #[schema(example = "awaiting_configuration")]
    pub service_status: String,
    pub status: SetupStatusDto,
    /// The first step not saved yet; null when all are saved.
    pub next_step: Option<StepName>,
    pub read_only: ReadOnlyTaxIds,
    /// The five steps, in order.
    pub steps: Vec<StepDto>,
}
