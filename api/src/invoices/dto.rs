//! An imported invoice as the API shows it (the matching procedure will
//! show it too), and the report of an import. Amounts are decimal strings
//! exactly as the file wrote them (`"30.50"`, `"1.234"`), never floats.

use chrono::{DateTime, NaiveDate, Utc};
use domain::fatturapa::{Direction, Party};
use persistence::invoice::{AttachmentInfo, InvoiceRecord, InvoiceSummary};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The service's side of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectionDto {
    /// The service issued it (it is the CedentePrestatore).
    Sent,
    /// The service received it (it is the CessionarioCommittente).
    Received,
}

impl From<Direction> for DirectionDto {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Sent => DirectionDto::Sent,
            Direction::Received => DirectionDto::Received,
        }
    }
}

impl From<DirectionDto> for Direction {
    fn from(direction: DirectionDto) -> Self {
        match direction {
            DirectionDto::Sent => Direction::Sent,
            DirectionDto::Received => Direction::Received,
        }
    }
}

fn money(amount: Decimal) -> String {
    amount.to_string()
}

fn money_opt(amount: Option<Decimal>) -> Option<String> {
    amount.map(money)
}

/// IdFiscaleIVA as the file wrote it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdFiscaleIvaDto {
    #[schema(example = "IT")]
    pub id_paese: String,
    #[schema(example = "01234567890")]
    pub id_codice: String,
}

/// A party's Sede.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SedeDto {
    pub indirizzo: String,
    #[schema(nullable)]
    pub numero_civico: Option<String>,
    pub cap: String,
    pub comune: String,
    #[schema(nullable)]
    pub provincia: Option<String>,
    pub nazione: String,
}

/// CedentePrestatore or CessionarioCommittente.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyDto {
    /// The denominazione, or nome and cognome.
    pub display_name: String,
    #[schema(nullable)]
    pub id_fiscale_iva: Option<IdFiscaleIvaDto>,
    #[schema(nullable)]
    pub codice_fiscale: Option<String>,
    #[schema(nullable)]
    pub denominazione: Option<String>,
    #[schema(nullable)]
    pub nome: Option<String>,
    #[schema(nullable)]
    pub cognome: Option<String>,
    pub sede: SedeDto,
}

impl PartyDto {
    fn of(party: &Party) -> Self {
        PartyDto {
            display_name: party.display_name(),
            id_fiscale_iva: party.id_fiscale_iva.as_ref().map(|id| IdFiscaleIvaDto {
                id_paese: id.paese.clone(),
                id_codice: id.codice.clone(),
            }),
            codice_fiscale: party.codice_fiscale.clone(),
            denominazione: party.denominazione.clone(),
            nome: party.nome.clone(),
            cognome: party.cognome.clone(),
            sede: SedeDto {
                indirizzo: party.sede.indirizzo.clone(),
                numero_civico: party.sede.numero_civico.clone(),
                cap: party.sede.cap.clone(),
                comune: party.sede.comune.clone(),
                provincia: party.sede.provincia.clone(),
                nazione: party.sede.nazione.clone(),
            },
        }
    }
}

/// A line of DatiRiepilogo (the VAT summary).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiepilogoDto {
    #[schema(example = "22.00")]
    pub aliquota_iva: String,
    #[schema(nullable)]
    pub natura: Option<String>,
    #[schema(example = "5.00")]
    pub imponibile: String,
    #[schema(example = "1.10")]
    pub imposta: String,
    /// `I`, `D` or `S` (scissione dei pagamenti).
    #[schema(nullable)]
    pub esigibilita: Option<String>,
    #[schema(nullable)]
    pub arrotondamento: Option<String>,
}

/// DatiRitenuta.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RitenutaDto {
    /// RT01..RT06.
    pub tipo: String,
    pub importo: String,
    pub aliquota: String,
    #[schema(nullable)]
    pub causale: Option<String>,
}

/// DatiBollo.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BolloDto {
    #[schema(nullable)]
    pub importo: Option<String>,
}

/// DatiCassaPrevidenziale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CassaDto {
    /// TC01..TC22.
    pub tipo: String,
    pub aliquota: String,
    pub importo_contributo: String,
    #[schema(nullable)]
    pub imponibile: Option<String>,
    pub aliquota_iva: String,
    pub ritenuta: bool,
    #[schema(nullable)]
    pub natura: Option<String>,
}

/// DettaglioPagamento: an instalment or a single payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DettaglioPagamentoDto {
    /// MP01..MP23.
    pub modalita: String,
    #[schema(nullable)]
    pub data_scadenza: Option<NaiveDate>,
    #[schema(nullable)]
    pub giorni_termini: Option<u32>,
    #[schema(nullable)]
    pub data_riferimento_termini: Option<NaiveDate>,
    pub importo: String,
    #[schema(nullable)]
    pub iban: Option<String>,
    #[schema(nullable)]
    pub istituto_finanziario: Option<String>,
}

/// DatiPagamento.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatiPagamentoDto {
    /// TP01 (a rate), TP02 (completo), TP03 (anticipo).
    pub condizioni: String,
    pub dettagli: Vec<DettaglioPagamentoDto>,
}

/// An attachment (Allegati) as listed; its bytes at
/// `/v1/panel/invoices/{id}/attachments/{n}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// Its number, from 1.
    pub n: u32,
    pub nome: String,
    #[schema(nullable)]
    pub formato: Option<String>,
    #[schema(nullable)]
    pub descrizione: Option<String>,
    /// Decoded bytes.
    pub size: u64,
}

impl AttachmentDto {
    fn of(info: &AttachmentInfo) -> Self {
        AttachmentDto {
            n: info.position,
            nome: info.nome.clone(),
            formato: info.formato.clone(),
            descrizione: info.descrizione.clone(),
            size: info.size,
        }
    }
}

/// An invoice as a list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceSummaryDto {
    pub id: Uuid,
    pub direction: DirectionDto,
    #[schema(example = "TD01")]
    pub tipo_documento: String,
    #[schema(example = "123")]
    pub numero: String,
    pub data: NaiveDate,
    #[schema(example = "EUR")]
    pub divisa: String,
    #[schema(example = "6.10")]
    pub importo_totale: String,
    /// The other party: the buyer of a sent invoice, the seller of a
    /// received one.
    pub counterpart_name: String,
    #[schema(nullable)]
    pub counterpart_partita_iva: Option<String>,
    #[schema(nullable)]
    pub counterpart_codice_fiscale: Option<String>,
    /// The contact it is matched to; null while unmatched.
    #[schema(nullable)]
    pub contact_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl InvoiceSummaryDto {
    pub fn of(summary: &InvoiceSummary) -> Self {
        InvoiceSummaryDto {
            id: summary.id,
            direction: summary.direction.into(),
            tipo_documento: summary.tipo_documento.as_str().to_owned(),
            numero: summary.numero.clone(),
            data: summary.data,
            divisa: summary.divisa.clone(),
            importo_totale: money(summary.importo_totale),
            counterpart_name: summary.counterpart_name.clone(),
            counterpart_partita_iva: summary.counterpart_partita_iva.clone(),
            counterpart_codice_fiscale: summary.counterpart_codice_fiscale.clone(),
            contact_id: summary.contact_id,
            created_at: summary.created_at,
        }
    }
}

/// An imported invoice, whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceDto {
    pub id: Uuid,
    pub direction: DirectionDto,
    /// `FPA12` or `FPR12`.
    pub format: String,
    #[schema(example = "TD01")]
    pub tipo_documento: String,
    pub numero: String,
    pub data: NaiveDate,
    pub divisa: String,
    /// ImportoTotaleDocumento, or computed when the file has none (see
    /// `total_computed`).
    pub importo_totale: String,
    /// The file had no ImportoTotaleDocumento: the total is the summary's
    /// ImponibileImporto and Imposta plus Arrotondamento.
    pub total_computed: bool,
    #[schema(nullable)]
    pub arrotondamento: Option<String>,
    /// What the counterpart pays: the total minus the ritenute, minus the
    /// VAT under split payment.
    pub importo_dovuto: String,
    /// Some summary line is under scissione dei pagamenti.
    pub split_payment: bool,
    pub seller: PartyDto,
    pub buyer: PartyDto,
    pub riepilogo: Vec<RiepilogoDto>,
    pub ritenute: Vec<RitenutaDto>,
    #[schema(nullable)]
    pub bollo: Option<BolloDto>,
    pub casse: Vec<CassaDto>,
    pub pagamenti: Vec<DatiPagamentoDto>,
    pub attachments: Vec<AttachmentDto>,
    /// The content type of the file it came in (`application/xml` or
    /// `application/pkcs7-mime`), at `/v1/panel/invoices/{id}/file`.
    pub file_content_type: String,
    #[schema(nullable)]
    pub contact_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl InvoiceDto {
    pub fn of(record: &InvoiceRecord) -> Self {
        let invoice = &record.invoice;
        InvoiceDto {
            id: record.id,
            direction: record.direction.into(),
            format: invoice.format.as_str().to_owned(),
            tipo_documento: invoice.tipo_documento.as_str().to_owned(),
            numero: invoice.numero.clone(),
            data: invoice.data,
            divisa: invoice.divisa.clone(),
            importo_totale: money(invoice.importo_totale),
            total_computed: invoice.total_computed,
            arrotondamento: money_opt(invoice.arrotondamento),
            importo_dovuto: money(invoice.importo_dovuto),
            split_payment: invoice.split_payment,
            seller: PartyDto::of(&invoice.seller),
            buyer: PartyDto::of(&invoice.buyer),
            riepilogo: invoice
                .riepilogo
                .iter()
                .map(|r| RiepilogoDto {
                    aliquota_iva: money(r.aliquota_iva),
                    natura: r.natura.clone(),
                    imponibile: money(r.imponibile),
                    imposta: money(r.imposta),
                    esigibilita: r.esigibilita.clone(),
                    arrotondamento: money_opt(r.arrotondamento),
                })
                .collect(),
            ritenute: invoice
                .ritenute
                .iter()
                .map(|r| RitenutaDto {
                    tipo: r.tipo.clone(),
                    importo: money(r.importo),
                    aliquota: money(r.aliquota),
                    causale: r.causale.clone(),
                })
                .collect(),
            bollo: invoice.bollo.as_ref().map(|b| BolloDto {
                importo: money_opt(b.importo),
            }),
            casse: invoice
                .casse
                .iter()
                .map(|c| CassaDto {
                    tipo: c.tipo.clone(),
                    aliquota: money(c.aliquota),
                    importo_contributo: money(c.importo_contributo),
                    imponibile: money_opt(c.imponibile),
                    aliquota_iva: money(c.aliquota_iva),
                    ritenuta: c.ritenuta,
                    natura: c.natura.clone(),
                })
                .collect(),
            pagamenti: invoice
                .pagamenti
                .iter()
                .map(|p| DatiPagamentoDto {
                    condizioni: p.condizioni.clone(),
                    dettagli: p
                        .dettagli
                        .iter()
                        .map(|d| DettaglioPagamentoDto {
                            modalita: d.modalita.clone(),
                            data_scadenza: d.data_scadenza,
                            giorni_termini: d.giorni_termini,
                            data_riferimento_termini: d.data_riferimento_termini,
                            importo: money(d.importo),
                            iban: d.iban.clone(),
                            istituto_finanziario: d.istituto_finanziario.clone(),
                        })
                        .collect(),
                })
                .collect(),
            attachments: record.attachments.iter().map(AttachmentDto::of).collect(),
            file_content_type: record.file_content_type.clone(),
            contact_id: record.contact_id,
            created_at: record.created_at,
        }
    }
}

/// What became of one invoice (one body) of a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedInvoiceDto {
    pub status: InvoiceOutcomeDto,
    /// The invoice: new, or the one imported before.
    pub id: Uuid,
    pub direction: DirectionDto,
    pub tipo_documento: String,
    pub numero: String,
    pub data: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceOutcomeDto {
    Imported,
    /// The same invoice (service, direction, seller, TipoDocumento, number
    /// and year) was imported before: nothing was created.
    AlreadyImported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcomeDto {
    /// At least one of its invoices is new.
    Imported,
    /// Every one of its invoices was imported before.
    AlreadyImported,
    /// Refused whole (`code`, `reason`): none of its invoices is stored.
    Rejected,
    /// Not an invoice file (a zip entry not named `.xml` or `.p7m`, or an
    /// SdI metadata file `…_MT_…`): not read.
    Skipped,
}

/// What became of one file (the body, or an entry of a zip).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedFileDto {
    /// The entry's path in the zip; null for a body sent alone.
    #[schema(nullable)]
    pub name: Option<String>,
    pub status: FileOutcomeDto,
    /// For a signed file (`.p7m`): always false, the signature is not
    /// verified (the XML inside is read). Absent for a plain XML file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_verified: Option<bool>,
    /// Each of its invoices (a lotto has several), when not refused.
    pub invoices: Vec<ImportedInvoiceDto>,
    /// Why it was refused: `malformed_xml`, `not_fatturapa`,
    /// `unsupported_version`, `forbidden_dtd`, `missing_field`,
    /// `invalid_field`, `invalid_signed_file`,
    /// `invoice_not_for_this_service`, `file_too_large`, `malformed_zip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it was refused or skipped, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where in the XML a missing or invalid element is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The report of an import: every file with what became of it, and the
/// counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub files: Vec<ImportedFileDto>,
    /// Invoices created.
    pub imported: u64,
    /// Invoices found imported before.
    pub already_imported: u64,
    /// Files refused.
    pub rejected: u64,
    /// Files not read.
    pub skipped: u64,
}

impl ImportReport {
    pub fn of(files: Vec<ImportedFileDto>) -> Self {
        let invoices = |outcome| {
            files
                .iter()
                .flat_map(|f| &f.invoices)
                .filter(|i| i.status == outcome)
                .count() as u64
        };
        let count = |outcome| files.iter().filter(|f| f.status == outcome).count() as u64;
        ImportReport {
            imported: invoices(InvoiceOutcomeDto::Imported),
            already_imported: invoices(InvoiceOutcomeDto::AlreadyImported),
            rejected: count(FileOutcomeDto::Rejected),
            skipped: count(FileOutcomeDto::Skipped),
            files,
        }
    }
}
