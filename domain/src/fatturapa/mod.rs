//! FatturaPA invoices (schema 1.2.x, `FPA12` and `FPR12`): bytes in, typed
//! invoices or a typed refusal out. Pure: no I/O, no network, never a DTD.
//!
//! - [`parse`] reads one XML file (any namespace prefix or a default
//!   namespace, a UTF-8 BOM, no declaration, UTF-8 / ISO-8859-1 /
//!   windows-1252) into one [`Invoice`] per `FatturaElettronicaBody`;
//! - [`unwrap_p7m`] extracts the signed XML of a `.xml.p7m` (CMS
//!   SignedData, DER or base64), without verifying the signature;
//! - [`Invoice::direction_for`] tells whether a service (its tax ids) sent
//!   or received an invoice.
//!
//! Every refusal is an [`ImportError`] with a stable [`ImportCode`].

mod decimal;
mod p7m;
mod parse;
mod xml;

pub use p7m::unwrap_p7m;
pub use parse::parse;

use crate::wizard::TipoDocumento;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// The SdI's own limit on one invoice file (5 MB).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// The namespace of FatturaPA 1.2.x.
pub const NAMESPACE_V12: &str = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2";

/// The transmission formats this importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// To a public administration.
    Fpa12,
    /// Between private parties.
    Fpr12,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Fpa12, Format::Fpr12];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Fpa12 => "FPA12",
            Format::Fpr12 => "FPR12",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// Whether the service issued the invoice or received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The service is the seller (CedentePrestatore).
    Sent,
    /// The service is the buyer (CessionarioCommittente).
    Received,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Sent, Direction::Received];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// IdFiscaleIVA: a country (ISO 3166 alpha-2) and a code, normalised
/// (spaces removed, upper case, a repeated country prefix dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdFiscaleIva {
    pub paese: String,
    pub codice: String,
}

impl fmt::Display for IdFiscaleIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.paese, self.codice)
    }
}

/// A party's address (Sede), as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sede {
    pub indirizzo: String,
    pub numero_civico: Option<String>,
    pub cap: String,
    pub comune: String,
    pub provincia: Option<String>,
    pub nazione: String,
}

/// Seller (CedentePrestatore) or buyer (CessionarioCommittente).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Required of the seller; the buyer has it, a Codice Fiscale, or both.
    pub id_fiscale_iva: Option<IdFiscaleIva>,
    /// Upper case, spaces removed.
    pub codice_fiscale: Option<String>,
    /// A company's name; otherwise `nome` and `cognome`.
    pub denominazione: Option<String>,
    pub nome: Option<String>,
    pub cognome: Option<String>,
    pub sede: Sede,
}

impl Party {
    /// The name to show: the denominazione, or "nome cognome".
    pub fn display_name(&self) -> String {
        match (&self.denominazione, &self.nome, &self.cognome) {
            (Some(d), _, _) => d.clone(),
            (None, nome, cognome) => [nome.as_deref(), cognome.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Whether `tax_id` (a Partita IVA or a Codice Fiscale, as the service
    /// holds it) names this party: its Italian IdFiscaleIVA code or its
    /// Codice Fiscale.
    pub fn is(&self, tax_ids: &[&str]) -> bool {
        let vat = self
            .id_fiscale_iva
            .as_ref()
            .filter(|id| id.paese == "IT")
            .map(|id| id.codice.as_str());
        tax_ids.iter().any(|id| {
            let id = id.trim();
            !id.is_empty() && (vat == Some(id) || self.codice_fiscale.as_deref() == Some(id))
        })
    }
}

/// One line of DatiRiepilogo (the VAT summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Riepilogo {
    pub aliquota_iva: Decimal,
    pub natura: Option<String>,
    pub imponibile: Decimal,
    pub imposta: Decimal,
    /// `I` (immediata), `D` (differita), `S` (scissione dei pagamenti).
    pub esigibilita: Option<String>,
    pub arrotondamento: Option<Decimal>,
}

/// DatiRitenuta (repeatable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ritenuta {
    /// RT01..RT06.
    pub tipo: String,
    pub importo: Decimal,
    pub aliquota: Decimal,
    pub causale: Option<String>,
}

/// DatiBollo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bollo {
    pub importo: Option<Decimal>,
}

/// DatiCassaPrevidenziale (repeatable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cassa {
    /// TC01..TC22.
    pub tipo: String,
    pub aliquota: Decimal,
    pub importo_contributo: Decimal,
    pub imponibile: Option<Decimal>,
    pub aliquota_iva: Decimal,
    pub ritenuta: bool,
    pub natura: Option<String>,
}

/// One DettaglioPagamento: an instalment or a single payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DettaglioPagamento {
    /// MP01..MP23.
    pub modalita: String,
    pub data_scadenza: Option<NaiveDate>,
    pub giorni_termini: Option<u32>,
    pub data_riferimento_termini: Option<NaiveDate>,
    pub importo: Decimal,
    pub iban: Option<String>,
    pub istituto_finanziario: Option<String>,
}

/// One DatiPagamento block (repeatable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatiPagamento {
    /// TP01 (a rate), TP02 (completo), TP03 (anticipo).
    pub condizioni: String,
    pub dettagli: Vec<DettaglioPagamento>,
}

/// An attachment (Allegati), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allegato {
    pub nome: String,
    pub formato: Option<String>,
    pub descrizione: Option<String>,
    pub data: Vec<u8>,
}

/// One invoice: the file's header (its parties) and one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub format: Format,
    pub seller: Party,
    pub buyer: Party,
    pub tipo_documento: TipoDocumento,
    pub divisa: String,
    pub data: NaiveDate,
    pub numero: String,
    /// ImportoTotaleDocumento, or computed when absent (see
    /// `total_computed`).
    pub importo_totale: Decimal,
    /// The file had no ImportoTotaleDocumento: the total is the sum of the
    /// summary's ImponibileImporto and Imposta plus Arrotondamento.
    pub total_computed: bool,
    /// The document's Arrotondamento.
    pub arrotondamento: Option<Decimal>,
    pub riepilogo: Vec<Riepilogo>,
    pub ritenute: Vec<Ritenuta>,
    pub bollo: Option<Bollo>,
    pub casse: Vec<Cassa>,
    /// Some summary line is under scissione dei pagamenti (Esigibilita `S`).
    pub split_payment: bool,
    /// What the counterpart pays: the total minus the ritenute, minus the
    /// VAT under split payment.
    pub importo_dovuto: Decimal,
    pub pagamenti: Vec<DatiPagamento>,
    pub allegati: Vec<Allegato>,
}

impl Invoice {
    /// The service's side of this invoice: `Sent` when one of its tax ids
    /// is the seller's, `Received` when one is the buyer's, `None` when
    /// neither (`invoice_not_for_this_service`).
    pub fn direction_for(&self, tax_ids: &[&str]) -> Option<Direction> {
        if self.seller.is(tax_ids) {
            Some(Direction::Sent)
        } else if self.buyer.is(tax_ids) {
            Some(Direction::Received)
        } else {
            None
        }
    }

    /// The counterpart of the service, given its side.
    pub fn counterpart(&self, direction: Direction) -> &Party {
        match direction {
            Direction::Sent => &self.buyer,
            Direction::Received => &self.seller,
        }
    }
}

/// Stable codes of a refused file or body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportCode {
    /// Not well-formed XML (also: truncated, or not in its declared
    /// encoding).
    MalformedXml,
    /// Another root element or namespace.
    NotFatturapa,
    /// A FatturaPA of a version other than 1.2.x (FPA12, FPR12).
    UnsupportedVersion,
    /// A DOCTYPE (any DTD or entity declaration).
    ForbiddenDtd,
    /// A required element is absent (its path in the reason).
    MissingField,
    /// An element's value is not of its type (a date, an amount, a code).
    InvalidField,
    /// A `.p7m` that is not a CMS SignedData holding the XML.
    InvalidSignedFile,
    /// Neither party is the service.
    InvoiceNotForThisService,
    /// Over the size limit.
    FileTooLarge,
}

impl ImportCode {
    pub const ALL: [ImportCode; 9] = [
        ImportCode::MalformedXml,
        ImportCode::NotFatturapa,
        ImportCode::UnsupportedVersion,
        ImportCode::ForbiddenDtd,
        ImportCode::MissingField,
        ImportCode::InvalidField,
        ImportCode::InvalidSignedFile,
        ImportCode::InvoiceNotForThisService,
        ImportCode::FileTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportCode::MalformedXml => "malformed_xml",
            ImportCode::NotFatturapa => "not_fatturapa",
            ImportCode::UnsupportedVersion => "unsupported_version",
            ImportCode::ForbiddenDtd => "forbidden_dtd",
            ImportCode::MissingField => "missing_field",
            ImportCode::InvalidField => "invalid_field",
            ImportCode::InvalidSignedFile => "invalid_signed_file",
            ImportCode::InvoiceNotForThisService => "invoice_not_for_this_service",
            ImportCode::FileTooLarge => "file_too_large",
        }
    }
}

impl fmt::Display for ImportCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: its code, a sentence for people and, for a missing or
/// invalid element, its path (`FatturaElettronicaBody[2]/DatiGenerali/…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct ImportError {
    pub code: ImportCode,
    pub reason: String,
    pub path: Option<String>,
}

impl ImportError {
    pub fn new(code: ImportCode, reason: impl Into<String>) -> ImportError {
        ImportError {
            code,
            reason: reason.into(),
            path: None,
        }
    }

    pub fn at(code: ImportCode, path: impl Into<String>, reason: impl Into<String>) -> ImportError {
        ImportError {
            code,
            reason: reason.into(),
            path: Some(path.into()),
        }
    }

    pub fn too_large(size: usize, limit: usize) -> ImportError {
        ImportError::new(
            ImportCode::FileTooLarge,
            format!("the file has {size} bytes; an invoice file may have at most {limit}"),
        )
    }
}
