//! Imported FatturaPA invoices of a service: `db.invoices()`. Every query
//! names the service, so another service's invoice is not there.
//!
//! A file is stored in one transaction with all its bodies, or not at all.
//! Each body is inserted with `ON CONFLICT DO NOTHING` on the invoices'
//! unique key (service, direction, seller IdFiscaleIVA, TipoDocumento,
//! number, year), so an invoice imported before — or by a concurrent
//! import of the same file — is found instead of refused: no unique
//! violation ever aborts a PostgreSQL transaction, and on SQLite the
//! transaction holds the write lock from its start (`BEGIN IMMEDIATE`).

use crate::entity::{invoice, invoice_attachment, invoice_file};
use crate::service::parse_id;
use crate::{Database, StoreError, StoreResult, in_range, read_as, to_micros};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::contact::name_key;
use domain::fatturapa::{
    Bollo, Cassa, DatiPagamento, DettaglioPagamento, Direction, Format, IdFiscaleIva, Invoice,
    Party, Riepilogo, Ritenuta, Sede,
};
use domain::wizard::TipoDocumento;
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TryInsertResult,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A file to store with its invoices.
#[derive(Debug, Clone, Copy)]
pub struct NewInvoiceFile<'a> {
    /// `application/xml` or `application/pkcs7-mime`.
    pub content_type: &'a str,
    /// Its name in a zip, if it came in one.
    pub file_name: Option<&'a str>,
    pub content: &'a [u8],
}

/// What became of one body of a stored file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Imported(Uuid),
    /// The same invoice (by the unique key) was there already: its id.
    AlreadyImported(Uuid),
}

/// An attachment as listed (its bytes are read on their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// From 1.
    pub position: u32,
    pub nome: String,
    pub formato: Option<String>,
    pub descrizione: Option<String>,
    pub size: u64,
}

/// A stored invoice: the domain's invoice (its Allegati listed apart, in
/// `attachments`, without their bytes) and the service's side of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub file_id: Uuid,
    pub direction: Direction,
    pub invoice: Invoice,
    pub attachments: Vec<AttachmentInfo>,
    pub contact_id: Option<Uuid>,
    pub file_content_type: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
}

/// An invoice as a list shows it (its columns only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSummary {
    pub id: Uuid,
    pub direction: Direction,
    pub tipo_documento: TipoDocumento,
    pub numero: String,
    pub data: NaiveDate,
    pub divisa: String,
    pub importo_totale: Decimal,
    pub counterpart_name: String,
    pub counterpart_partita_iva: Option<String>,
    pub counterpart_codice_fiscale: Option<String>,
    pub contact_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// What a list asks for; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    pub direction: Option<Direction>,
    /// `data` on or after.
    pub from: Option<NaiveDate>,
    /// `data` on or before.
    pub to: Option<NaiveDate>,
    pub tipo_documento: Option<TipoDocumento>,
    pub contact_id: Option<Uuid>,
    /// Only invoices matched to no contact (`Some(true)`), or only matched
    /// ones (`Some(false)`).
    pub unmatched: Option<bool>,
    /// A prefix, in lower case, of the number or of the counterpart's name.
    pub prefix: Option<String>,
}

/// A stored file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub content_type: String,
    pub file_name: Option<String>,
    pub content: Vec<u8>,
}

/// An attachment with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub info: AttachmentInfo,
    pub content: Vec<u8>,
}

/// The invoices of the store: `db.invoices()`.
#[derive(Clone, Copy)]
pub struct Invoices<'a> {
    db: &'a Database,
}

impl Database {
    pub fn invoices(&self) -> Invoices<'_> {
        Invoices { db: self }
    }
}

// ---- the JSON of `invoices.details` ------------------------------------------
//
// Amounts are decimal strings (rust_decimal's `serde-str`), exactly as
// parsed; dates are ISO.

#[derive(Serialize, Deserialize)]
struct SedeJson {
    indirizzo: String,
    numero_civico: Option<String>,
    cap: String,
    comune: String,
    provincia: Option<String>,
    nazione: String,
}

#[derive(Serialize, Deserialize)]
struct PartyJson {
    id_paese: Option<String>,
    id_codice: Option<String>,
    codice_fiscale: Option<String>,
    denominazione: Option<String>,
    nome: Option<String>,
    cognome: Option<String>,
    sede: SedeJson,
}

#[derive(Serialize, Deserialize)]
struct RiepilogoJson {
    aliquota_iva: Decimal,
    natura: Option<String>,
    imponibile: Decimal,
    imposta: Decimal,
    esigibilita: Option<String>,
    arrotondamento: Option<Decimal>,
}

#[derive(Serialize, Deserialize)]
struct RitenutaJson {
    tipo: String,
    importo: Decimal,
    aliquota: Decimal,
    causale: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CassaJson {
    tipo: String,
    aliquota: Decimal,
    importo_contributo: Decimal,
    imponibile: Option<Decimal>,
    aliquota_iva: Decimal,
    ritenuta: bool,
    natura: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct DettaglioJson {
    modalita: String,
    data_scadenza: Option<NaiveDate>,
    giorni_termini: Option<u32>,
    data_riferimento_termini: Option<NaiveDate>,
    importo: Decimal,
    iban: Option<String>,
    istituto_finanziario: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PagamentoJson {
    condizioni: String,
    dettagli: Vec<DettaglioJson>,
}

#[derive(Serialize, Deserialize)]
struct Details {
    seller: PartyJson,
    buyer: PartyJson,
    total_computed: bool,
    arrotondamento: Option<Decimal>,
    riepilogo: Vec<RiepilogoJson>,
    ritenute: Vec<RitenutaJson>,
    /// `None`: no DatiBollo; `Some(None)`: DatiBollo without an amount.
    bollo: Option<Option<Decimal>>,
    casse: Vec<CassaJson>,
    split_payment: bool,
    importo_dovuto: Decimal,
    pagamenti: Vec<PagamentoJson>,
}

fn party_json(party: &Party) -> PartyJson {
    PartyJson {
        id_paese: party.id_fiscale_iva.as_ref().map(|id| id.paese.clone()),
        id_codice: party.id_fiscale_iva.as_ref().map(|id| id.codice.clone()),
        codice_fiscale: party.codice_fiscale.clone(),
        denominazione: party.denominazione.clone(),
        nome: party.nome.clone(),
        cognome: party.cognome.clone(),
        sede: SedeJson {
            indirizzo: party.sede.indirizzo.clone(),
            numero_civico: party.sede.numero_civico.clone(),
            cap: party.sede.cap.clone(),
            comune: party.sede.comune.clone(),
            provincia: party.sede.provincia.clone(),
            nazione: party.sede.nazione.clone(),
        },
    }
}

fn party_of(json: PartyJson) -> Party {
    Party {
        id_fiscale_iva: match (json.id_paese, json.id_codice) {
            (Some(paese), Some(codice)) => Some(IdFiscaleIva { paese, codice }),
            _ => None,
        },
        codice_fiscale: json.codice_fiscale,
        denominazione: json.denominazione,
        nome: json.nome,
        cognome: json.cognome,
        sede: Sede {
            indirizzo: json.sede.indirizzo,
            numero_civico: json.sede.numero_civico,
            cap: json.sede.cap,
            comune: json.sede.comune,
            provincia: json.sede.provincia,
            nazione: json.sede.nazione,
        },
    }
}

fn details_json(invoice: &Invoice) -> StoreResult<String> {
    let details = Details {
        seller: party_json(&invoice.seller),
        buyer: party_json(&invoice.buyer),
        total_computed: invoice.total_computed,
        arrotondamento: invoice.arrotondamento,
        riepilogo: invoice
            .riepilogo
            .iter()
            .map(|r| RiepilogoJson {
                aliquota_iva: r.aliquota_iva,
                natura: r.natura.clone(),
                imponibile: r.imponibile,
                imposta: r.imposta,
                esigibilita: r.esigibilita.clone(),
                arrotondamento: r.arrotondamento,
            })
            .collect(),
        ritenute: invoice
            .ritenute
            .iter()
            .map(|r| RitenutaJson {
                tipo: r.tipo.clone(),
                importo: r.importo,
                aliquota: r.aliquota,
                causale: r.causale.clone(),
            })
            .collect(),
        bollo: invoice.bollo.as_ref().map(|b| b.importo),
        casse: invoice
            .casse
            .iter()
            .map(|c| CassaJson {
                tipo: c.tipo.clone(),
                aliquota: c.aliquota,
                importo_contributo: c.importo_contributo,
                imponibile: c.imponibile,
                aliquota_iva: c.aliquota_iva,
                ritenuta: c.ritenuta,
                natura: c.natura.clone(),
            })
            .collect(),
        split_payment: invoice.split_payment,
        importo_dovuto: invoice.importo_dovuto,
        pagamenti: invoice
            .pagamenti
            .iter()
            .map(|p| PagamentoJson {
                condizioni: p.condizioni.clone(),
                dettagli: p
                    .dettagli
                    .iter()
                    .map(|d| DettaglioJson {
                        modalita: d.modalita.clone(),
                        data_scadenza: d.data_scadenza,
                        giorni_termini: d.giorni_termini,
                        data_riferimento_termini: d.data_riferimento_termini,
                        importo: d.importo,
                        iban: d.iban.clone(),
                        istituto_finanziario: d.istituto_finanziario.clone(),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string(&details)
        .map_err(|e| StoreError::Corrupt(format!("invoice details not serialisable: {e}")))
}

fn corrupt(row: &invoice::Model, what: &str) -> StoreError {
    StoreError::Corrupt(format!("invoice {}: unreadable {what}", row.id))
}

fn decimal(row: &invoice::Model, text: &str, what: &str) -> StoreResult<Decimal> {
    text.parse().map_err(|_| corrupt(row, what))
}

fn to_summary(row: invoice::Model) -> StoreResult<InvoiceSummary> {
    Ok(InvoiceSummary {
        id: parse_id(&row.id)?,
        direction: read_as(&row.direction, "invoice direction", Direction::parse)?,
        tipo_documento: read_as(
            &row.tipo_documento,
            "invoice tipo_documento",
            TipoDocumento::parse,
        )?,
        importo_totale: decimal(&row, &row.importo_totale, "importo_totale")?,
        contact_id: row.contact_id.as_deref().map(parse_id).transpose()?,
        numero: row.numero,
        data: row.data,
        divisa: row.divisa,
        counterpart_name: row.counterpart_name,
        counterpart_partita_iva: row.counterpart_piva,
        counterpart_codice_fiscale: row.counterpart_cf,
        created_at: row.created_at,
    })
}

fn to_record(
    row: invoice::Model,
    attachments: Vec<AttachmentInfo>,
    file_content_type: String,
) -> StoreResult<InvoiceRecord> {
    let details: Details =
        serde_json::from_str(&row.details).map_err(|_| corrupt(&row, "details"))?;
    let invoice = Invoice {
        format: read_as(&row.format, "invoice format", Format::parse)?,
        seller: party_of(details.seller),
        buyer: party_of(details.buyer),
        tipo_documento: read_as(
            &row.tipo_documento,
            "invoice tipo_documento",
            TipoDocumento::parse,
        )?,
        divisa: row.divisa.clone(),
        data: row.data,
        numero: row.numero.clone(),
        importo_totale: decimal(&row, &row.importo_totale, "importo_totale")?,
        total_computed: details.total_computed,
        arrotondamento: details.arrotondamento,
        riepilogo: details
            .riepilogo
            .into_iter()
            .map(|r| Riepilogo {
                aliquota_iva: r.aliquota_iva,
                natura: r.natura,
                imponibile: r.imponibile,
                imposta: r.imposta,
                esigibilita: r.esigibilita,
                arrotondamento: r.arrotondamento,
            })
            .collect(),
        ritenute: details
            .ritenute
            .into_iter()
            .map(|r| Ritenuta {
                tipo: r.tipo,
                importo: r.importo,
                aliquota: r.aliquota,
                causale: r.causale,
            })
            .collect(),
        bollo: details.bollo.map(|importo| Bollo { importo }),
        casse: details
            .casse
            .into_iter()
            .map(|c| Cassa {
                tipo: c.tipo,
                aliquota: c.aliquota,
                importo_contributo: c.importo_contributo,
                imponibile: c.imponibile,
                aliquota_iva: c.aliquota_iva,
                ritenuta: c.ritenuta,
                natura: c.natura,
            })
            .collect(),
        split_payment: details.split_payment,
        importo_dovuto: details.importo_dovuto,
        pagamenti: details
            .pagamenti
            .into_iter()
            .map(|p| DatiPagamento {
                condizioni: p.condizioni,
                dettagli: p
                    .dettagli
                    .into_iter()
                    .map(|d| DettaglioPagamento {
                        modalita: d.modalita,
                        data_scadenza: d.data_scadenza,
                        giorni_termini: d.giorni_termini,
                        data_riferimento_termini: d.data_riferimento_termini,
                        importo: d.importo,
                        iban: d.iban,
                        istituto_finanziario: d.istituto_finanziario,
                    })
                    .collect(),
            })
            .collect(),
        // Listed apart, without their bytes.
        allegati: Vec::new(),
    };
    Ok(InvoiceRecord {
        id: parse_id(&row.id)?,
        service_id: parse_id(&row.service_id)?,
        file_id: parse_id(&row.file_id)?,
        direction: read_as(&row.direction, "invoice direction", Direction::parse)?,
        invoice,
        attachments,
        contact_id: row.contact_id.as_deref().map(parse_id).transpose()?,
        file_content_type,
        created_at: row.created_at,
        created_by: parse_id(&row.created_by)?,
    })
}

fn attachment_info(row: &invoice_attachment::Model) -> StoreResult<AttachmentInfo> {
    Ok(AttachmentInfo {
        position: in_range(row.position, "attachment position")?,
        nome: row.nome.clone(),
        formato: row.formato.clone(),
        descrizione: row.descrizione.clone(),
        size: in_range(row.size, "attachment size")?,
    })
}

/// The seller's IdFiscaleIVA as the unique key holds it (a seller without
/// one, which the schema does not allow, keys by its Codice Fiscale).
fn seller_key(invoice: &Invoice) -> (String, String) {
    match &invoice.seller.id_fiscale_iva {
        Some(id) => (id.paese.clone(), id.codice.clone()),
        None => (
            String::new(),
            invoice.seller.codice_fiscale.clone().unwrap_or_default(),
        ),
    }
}

/// The end of a prefix's range of keys: every key that starts with
/// `prefix` is at least `prefix` and less than this.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// The list's query: the service's invoices matching `filter`, newest
/// date first (then id, descending), after the cursor's (data, id).
fn list_select(
    service: Uuid,
    filter: &InvoiceFilter,
    after: Option<&(NaiveDate, Uuid)>,
    limit: u64,
) -> sea_orm::Select<invoice::Entity> {
    let mut select =
        invoice::Entity::find().filter(invoice::Column::ServiceId.eq(service.to_string()));
    if let Some(direction) = filter.direction {
        select = select.filter(invoice::Column::Direction.eq(direction.as_str()));
    }
    if let Some(from) = filter.from {
        select = select.filter(invoice::Column::Data.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(invoice::Column::Data.lte(to));
    }
    if let Some(tipo) = filter.tipo_documento {
        select = select.filter(invoice::Column::TipoDocumento.eq(tipo.as_str()));
    }
    if let Some(contact) = filter.contact_id {
        select = select.filter(invoice::Column::ContactId.eq(contact.to_string()));
    }
    match filter.unmatched {
        Some(true) => select = select.filter(invoice::Column::ContactId.is_null()),
        Some(false) => select = select.filter(invoice::Column::ContactId.is_not_null()),
        None => {}
    }
    if let Some(prefix) = &filter.prefix {
        select = select.filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(invoice::Column::NumeroKey.gte(prefix.as_str()))
                        .add(invoice::Column::NumeroKey.lt(prefix_end(prefix))),
                )
                .add(
                    Condition::all()
                        .add(invoice::Column::CounterpartKey.gte(prefix.as_str()))
                        .add(invoice::Column::CounterpartKey.lt(prefix_end(prefix))),
                ),
        );
    }
    if let Some((data, id)) = after {
        // Before (data, id) in the descending order.
        select = select.filter(invoice::Column::Data.lte(*data)).filter(
            Condition::any()
                .add(invoice::Column::Data.lt(*data))
                .add(invoice::Column::Id.lt(id.to_string())),
        );
    }
    select
        .order_by_desc(invoice::Column::Data)
        .order_by_desc(invoice::Column::Id)
        .limit(limit)
}

impl Invoices<'_> {
    /// Stores a file and its invoices (each with the service's side of
    /// it) in one transaction: every body is imported or found already
    /// there; when none is new, nothing is written (not even the file).
    pub async fn import_file(
        &self,
        service: Uuid,
        by: Uuid,
        file: NewInvoiceFile<'_>,
        invoices: &[(Direction, &Invoice)],
    ) -> StoreResult<Vec<Stored>> {
        let now = to_micros(Utc::now());
        let tx = self.db.begin_write().await?;
        let file_id = Uuid::new_v4();
        invoice_file::Entity::insert(invoice_file::ActiveModel {
            id: Set(file_id.to_string()),
            service_id: Set(service.to_string()),
            content_type: Set(file.content_type.to_owned()),
            file_name: Set(file.file_name.map(str::to_owned)),
            size: Set(in_range(file.content.len(), "file size")?),
            content: Set(file.content.to_vec()),
            created_at: Set(now),
            created_by: Set(by.to_string()),
        })
        .exec_without_returning(&tx)
        .await?;
        // The bodies are written in the order of their unique key, not the
        // file's: two files holding the same invoices in other orders then
        // wait for each other's rows in one order, never in a circle (a
        // deadlock on PostgreSQL). The outcomes come back in the file's.
        let mut order: Vec<usize> = (0..invoices.len()).collect();
        order.sort_by_cached_key(|&index| {
            let (direction, invoice) = &invoices[index];
            (
                direction.as_str(),
                seller_key(invoice),
                invoice.tipo_documento.as_str(),
                invoice.numero.clone(),
                invoice.data.year(),
            )
        });
        let mut outcomes: Vec<Option<Stored>> = vec![None; invoices.len()];
        for index in order {
            let (direction, invoice) = &invoices[index];
            let id = Uuid::now_v7();
            let (seller_paese, seller_codice) = seller_key(invoice);
            let counterpart = invoice.counterpart(*direction);
            let counterpart_name = counterpart.display_name();
            let row = invoice::ActiveModel {
                id: Set(id.to_string()),
                service_id: Set(service.to_string()),
                file_id: Set(file_id.to_string()),
                body_index: Set(in_range(index + 1, "body index")?),
                direction: Set(direction.as_str().to_owned()),
                format: Set(invoice.format.as_str().to_owned()),
                tipo_documento: Set(invoice.tipo_documento.as_str().to_owned()),
                numero: Set(invoice.numero.clone()),
                numero_key: Set(name_key(&invoice.numero)),
                data: Set(invoice.data),
                anno: Set(invoice.data.year()),
                divisa: Set(invoice.divisa.clone()),
                importo_totale: Set(invoice.importo_totale.to_string()),
                seller_paese: Set(seller_paese.clone()),
                seller_codice: Set(seller_codice.clone()),
                counterpart_key: Set(name_key(&counterpart_name)),
                counterpart_name: Set(counterpart_name),
                counterpart_piva: Set(counterpart
                    .id_fiscale_iva
                    .as_ref()
                    .map(|id| id.codice.clone())),
                counterpart_cf: Set(counterpart.codice_fiscale.clone()),
                contact_id: Set(None),
                details: Set(details_json(invoice)?),
                created_at: Set(now),
                created_by: Set(by.to_string()),
            };
            let inserted = invoice::Entity::insert(row)
                .on_conflict_do_nothing_on([
                    invoice::Column::ServiceId,
                    invoice::Column::Direction,
                    invoice::Column::SellerPaese,
                    invoice::Column::SellerCodice,
                    invoice::Column::TipoDocumento,
                    invoice::Column::Numero,
                    invoice::Column::Anno,
                ])
                .exec_with_returning_keys(&tx)
                .await?;
            let inserted = matches!(inserted, TryInsertResult::Inserted(keys) if !keys.is_empty());
            if !inserted {
                let existing = invoice::Entity::find()
                    .select_only()
                    .column(invoice::Column::Id)
                    .filter(invoice::Column::ServiceId.eq(service.to_string()))
                    .filter(invoice::Column::Direction.eq(direction.as_str()))
                    .filter(invoice::Column::SellerPaese.eq(seller_paese))
                    .filter(invoice::Column::SellerCodice.eq(seller_codice))
                    .filter(invoice::Column::TipoDocumento.eq(invoice.tipo_documento.as_str()))
                    .filter(invoice::Column::Numero.eq(invoice.numero.as_str()))
                    .filter(invoice::Column::Anno.eq(invoice.data.year()))
                    .into_tuple::<String>()
                    .one(&tx)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(
                            "an invoice insert met a conflict but no row has its key".into(),
                        )
                    })?;
                outcomes[index] = Some(Stored::AlreadyImported(parse_id(&existing)?));
                continue;
            }
            if !invoice.allegati.is_empty() {
                let rows = invoice
                    .allegati
                    .iter()
                    .enumerate()
                    .map(|(n, allegato)| {
                        Ok(invoice_attachment::ActiveModel {
                            invoice_id: Set(id.to_string()),
                            position: Set(in_range(n + 1, "attachment position")?),
                            nome: Set(allegato.nome.clone()),
                            formato: Set(allegato.formato.clone()),
                            descrizione: Set(allegato.descrizione.clone()),
                            size: Set(in_range(allegato.data.len(), "attachment size")?),
                            content: Set(allegato.data.clone()),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                // One at a time: an attachment may be megabytes.
                for row in rows {
                    invoice_attachment::Entity::insert(row)
                        .exec_without_returning(&tx)
                        .await?;
                }
            }
            outcomes[index] = Some(Stored::Imported(id));
        }
        // Every index was in the order: each has its outcome.
        let outcomes: Vec<Stored> = outcomes.into_iter().flatten().collect();
        if outcomes
            .iter()
            .any(|outcome| matches!(outcome, Stored::Imported(_)))
        {
            tx.commit().await?;
        } else {
            // Nothing new: the file row is not kept.
            tx.rollback().await?;
        }
        Ok(outcomes)
    }

    /// The service's invoice, with its attachments listed.
    pub async fn find_invoice(
        &self,
        service: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<InvoiceRecord>> {
        let Some(row) = invoice::Entity::find()
            .filter(invoice::Column::ServiceId.eq(service.to_string()))
            .filter(invoice::Column::Id.eq(id.to_string()))
            .one(&self.db.reads())
            .await?
        else {
            return Ok(None);
        };
        let content_type = invoice_file::Entity::find_by_id(row.file_id.clone())
            .select_only()
            .column(invoice_file::Column::ContentType)
            .into_tuple::<String>()
            .one(&self.db.reads())
            .await?
            .ok_or_else(|| corrupt(&row, "file"))?;
        let attachments = invoice_attachment::Entity::find()
            .select_only()
            .columns([
                invoice_attachment::Column::InvoiceId,
                invoice_attachment::Column::Position,
                invoice_attachment::Column::Nome,
                invoice_attachment::Column::Formato,
                invoice_attachment::Column::Descrizione,
                invoice_attachment::Column::Size,
            ])
            .filter(invoice_attachment::Column::InvoiceId.eq(id.to_string()))
            .order_by_asc(invoice_attachment::Column::Position)
            .into_tuple::<(String, i32, String, Option<String>, Option<String>, i64)>()
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(|(_, position, nome, formato, descrizione, size)| {
                Ok(AttachmentInfo {
                    position: in_range(position, "attachment position")?,
                    nome,
                    formato,
                    descrizione,
                    size: in_range(size, "attachment size")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        to_record(row, attachments, content_type).map(Some)
    }

    /// A page of the service's invoices, newest date first (then id),
    /// after the cursor's (data, id).
    pub async fn list_invoices(
        &self,
        service: Uuid,
        filter: &InvoiceFilter,
        after: Option<&(NaiveDate, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<InvoiceSummary>> {
        list_select(service, filter, after, limit)
            .all(&self.db.reads())
            .await?
            .into_iter()
            .map(to_summary)
            .collect()
    }

    /// The file an invoice of the service came in, as it arrived.
    pub async fn find_file(&self, service: Uuid, invoice: Uuid) -> StoreResult<Option<StoredFile>> {
        let Some(file_id) = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::FileId)
            .filter(invoice::Column::ServiceId.eq(service.to_string()))
            .filter(invoice::Column::Id.eq(invoice.to_string()))
            .into_tuple::<String>()
            .one(&self.db.reads())
            .await?
        else {
            return Ok(None);
        };
        let file = invoice_file::Entity::find_by_id(file_id.clone())
            .one(&self.db.reads())
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("invoice {invoice}: no file {file_id}")))?;
        Ok(Some(StoredFile {
            content_type: file.content_type,
            file_name: file.file_name,
            content: file.content,
        }))
    }

    /// Attachment `position` (from 1) of an invoice of the service.
    pub async fn find_attachment(
        &self,
        service: Uuid,
        invoice: Uuid,
        position: u32,
    ) -> StoreResult<Option<StoredAttachment>> {
        let owned = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::Id)
            .filter(invoice::Column::ServiceId.eq(service.to_string()))
            .filter(invoice::Column::Id.eq(invoice.to_string()))
            .into_tuple::<String>()
            .one(&self.db.reads())
            .await?;
        if owned.is_none() {
            return Ok(None);
        }
        let Ok(position) = i32::try_from(position) else {
            return Ok(None);
        };
        let Some(row) = invoice_attachment::Entity::find_by_id((invoice.to_string(), position))
            .one(&self.db.reads())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(StoredAttachment {
            info: attachment_info(&row)?,
            content: row.content,
        }))
    }

    /// Matches an invoice of the service to a contact (or to none). The
    /// matching procedure's write; tests use it to arrange a match.
    pub async fn set_invoice_contact(
        &self,
        service: Uuid,
        invoice: Uuid,
        contact: Option<Uuid>,
    ) -> StoreResult<bool> {
        let changed = invoice::Entity::update_many()
            .col_expr(
                invoice::Column::ContactId,
                sea_orm::sea_query::Expr::value(contact.map(|c| c.to_string())),
            )
            .filter(invoice::Column::ServiceId.eq(service.to_string()))
            .filter(invoice::Column::Id.eq(invoice.to_string()))
            .exec(self.db.conn())
            .await?;
        Ok(changed.rows_affected == 1)
    }
}
