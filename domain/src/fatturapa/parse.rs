//! From the element tree to invoices: elements matched by local name
//! (children of a FatturaPA are unqualified, whatever the root's prefix),
//! in any order; every value trimmed; a missing required element refuses
//! the file with its path, a value not of its type likewise.

use super::xml::{self, Element};
use super::{
    Allegato, Bollo, Cassa, DatiPagamento, DettaglioPagamento, Format, IdFiscaleIva, ImportCode,
    ImportError, Invoice, MAX_FILE_BYTES, NAMESPACE_V12, Party, Riepilogo, Ritenuta, Sede, decimal,
};
use crate::wizard::TipoDocumento;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The namespace of FatturaPA 1.1 (refused: `unsupported_version`).
const NAMESPACE_V11: &str = "http://www.fatturapa.gov.it/sdi/fatturapa/v1.1";

/// Reads one FatturaPA file: one invoice per `FatturaElettronicaBody`, or
/// the first reason to refuse the whole file.
pub fn parse(bytes: &[u8]) -> Result<Vec<Invoice>, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::too_large(bytes.len(), MAX_FILE_BYTES));
    }
    let text = xml::decode(bytes)?;
    let root = xml::read(&text)?;
    let format = check_root(&root)?;
    let root = Node {
        element: &root,
        path: root.name.clone(),
    };
    let header = root.required("FatturaElettronicaHeader")?;
    let seller_node = header.required("CedentePrestatore")?;
    let seller = party(&seller_node.required("DatiAnagrafici")?, true, &seller_node)?;
    let buyer_node = header.required("CessionarioCommittente")?;
    let buyer = party(&buyer_node.required("DatiAnagrafici")?, false, &buyer_node)?;
    let bodies = root.all("FatturaElettronicaBody");
    if bodies.is_empty() {
        return Err(root.missing("FatturaElettronicaBody"));
    }
    bodies
        .iter()
        .map(|body| invoice(body, format, &seller, &buyer))
        .collect()
}

fn check_root(root: &Element) -> Result<Format, ImportError> {
    let supported = || {
        format!(
            "supported: FatturaPA 1.2.x ({}, {}) in namespace {NAMESPACE_V12}",
            Format::Fpa12.as_str(),
            Format::Fpr12.as_str()
        )
    };
    match root.name.as_str() {
        "FatturaElettronica" => {}
        "FatturaElettronicaSemplificata" => {
            return Err(ImportError::new(
                ImportCode::UnsupportedVersion,
                format!(
                    "a simplified invoice (FatturaElettronicaSemplificata); {}",
                    supported()
                ),
            ));
        }
        other => {
            return Err(ImportError::new(
                ImportCode::NotFatturapa,
                format!("the root element is {other}, not FatturaElettronica"),
            ));
        }
    }
    match root.namespace() {
        Some(NAMESPACE_V12) => {}
        Some(NAMESPACE_V11) => {
            return Err(ImportError::new(
                ImportCode::UnsupportedVersion,
                format!("FatturaPA 1.1 (namespace {NAMESPACE_V11}); {}", supported()),
            ));
        }
        Some(other) => {
            return Err(ImportError::new(
                ImportCode::NotFatturapa,
                format!("the root element is in namespace {other:?}, not {NAMESPACE_V12}"),
            ));
        }
        None => {
            return Err(ImportError::new(
                ImportCode::NotFatturapa,
                format!("the root element has no namespace; FatturaPA's is {NAMESPACE_V12}"),
            ));
        }
    }
    let versione = root.attribute("versione").map(str::trim).unwrap_or("");
    Format::parse(versione).ok_or_else(|| {
        ImportError::at(
            ImportCode::UnsupportedVersion,
            "FatturaElettronica/@versione",
            format!("versione {versione:?}; {}", supported()),
        )
    })
}

/// An element and its path from the root, for the messages.
struct Node<'a> {
    element: &'a Element,
    path: String,
}

impl<'a> Node<'a> {
    fn child_path(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    fn missing(&self, name: &str) -> ImportError {
        let path = self.child_path(name);
        ImportError::at(
            ImportCode::MissingField,
            path.clone(),
            format!("{path} is required"),
        )
    }

    fn invalid(&self, name: &str, what: &str, value: &str) -> ImportError {
        let path = self.child_path(name);
        let shown: String = value.chars().take(40).collect();
        ImportError::at(
            ImportCode::InvalidField,
            path.clone(),
            format!("{path} must be {what}, not {shown:?}"),
        )
    }

    fn optional(&self, name: &str) -> Option<Node<'a>> {
        self.element
            .children
            .iter()
            .find(|child| child.name == name)
            .map(|element| Node {
                element,
                path: self.child_path(name),
            })
    }

    fn required(&self, name: &str) -> Result<Node<'a>, ImportError> {
        self.optional(name).ok_or_else(|| self.missing(name))
    }

    /// Every child of that name, with 1-based indexes in their paths when
    /// there are several.
    fn all(&self, name: &str) -> Vec<Node<'a>> {
        let found: Vec<&Element> = self
            .element
            .children
            .iter()
            .filter(|child| child.name == name)
            .collect();
        let several = found.len() > 1;
        found
            .into_iter()
            .enumerate()
            .map(|(index, element)| Node {
                element,
                path: if several {
                    format!("{}[{}]", self.child_path(name), index + 1)
                } else {
                    self.child_path(name)
                },
            })
            .collect()
    }

    /// A child's text, trimmed; `None` when absent or blank; longer than
    /// the schema allows ([`max_chars`]) refuses the file.
    fn text(&self, name: &str) -> Result<Option<String>, ImportError> {
        let Some(text) = self
            .optional(name)
            .map(|node| node.element.text.trim().to_owned())
            .filter(|text| !text.is_empty())
        else {
            return Ok(None);
        };
        let max = max_chars(name);
        if text.chars().count() > max {
            return Err(self.invalid(name, &format!("at most {max} characters"), &text));
        }
        Ok(Some(text))
    }

    fn required_text(&self, name: &str) -> Result<String, ImportError> {
        self.text(name)?.ok_or_else(|| self.missing(name))
    }

    fn decimal(&self, name: &str) -> Result<Option<Decimal>, ImportError> {
        self.text(name)?
            .map(|text| {
                decimal::parse(&text).ok_or_else(|| {
                    self.invalid(name, "a decimal with 2 to 8 places (e.g. 12.50)", &text)
                })
            })
            .transpose()
    }

    fn required_decimal(&self, name: &str) -> Result<Decimal, ImportError> {
        self.decimal(name)?.ok_or_else(|| self.missing(name))
    }

    fn date(&self, name: &str) -> Result<Option<NaiveDate>, ImportError> {
        self.text(name)?
            .map(|text| {
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .ok()
                    .filter(|_| text.len() == 10)
                    .ok_or_else(|| self.invalid(name, "a date (YYYY-MM-DD)", &text))
            })
            .transpose()
    }

    /// A code of a closed list written `PREFIX` + two digits from 1 to
    /// `last` (MP01..MP23, TP01..TP03, RT01..RT06, TC01..TC22).
    fn numbered_code(
        &self,
        name: &str,
        prefix: &str,
        last: u32,
    ) -> Result<Option<String>, ImportError> {
        self.text(name)?
            .map(|text| {
                let number = text
                    .strip_prefix(prefix)
                    .filter(|digits| {
                        digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|digits| digits.parse::<u32>().ok());
                match number {
                    Some(n) if (1..=last).contains(&n) => Ok(text),
                    _ => Err(self.invalid(
                        name,
                        &format!("one of {prefix}01..{prefix}{last:02}"),
                        &text,
                    )),
                }
            })
            .transpose()
    }

    fn required_code(&self, name: &str, prefix: &str, last: u32) -> Result<String, ImportError> {
        self.numbered_code(name, prefix, last)?
            .ok_or_else(|| self.missing(name))
    }
}

/// The most characters FatturaPA 1.2.2's schema lets an element hold
/// (String60LatinType and the like). A longer value refuses the file: it
/// would be refused by the SdI, and it must never reach an index.
fn max_chars(name: &str) -> usize {
    match name {
        "IdPaese" | "Provincia" | "Nazione" | "EsigibilitaIVA" => 2,
        "Divisa" => 3,
        "TipoDocumento"
        | "TipoRitenuta"
        | "TipoCassa"
        | "ModalitaPagamento"
        | "CondizioniPagamento"
        | "Natura" => 4,
        "CAP" | "Ritenuta" => 5,
        "NumeroCivico" => 8,
        "FormatoAttachment" => 10,
        "Numero" => 20,
        // Tax ids and IBANs are bounded here as written, spaces and all,
        // then as compacted by their own checks.
        "CodiceFiscale" | "IdCodice" | "IBAN" => 50,
        "Nome" | "Cognome" | "Indirizzo" | "Comune" | "NomeAttachment" => 60,
        "Denominazione" | "IstitutoFinanziario" => 80,
        "DescrizioneAttachment" => 100,
        // Amounts, dates, codes: their own parsers bound them.
        _ => 200,
    }
}

/// Spaces removed, upper case.
fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn id_fiscale_iva(node: &Node<'_>) -> Result<IdFiscaleIva, ImportError> {
    let paese = compact(&node.required_text("IdPaese")?);
    if paese.len() != 2 || !paese.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(node.invalid("IdPaese", "a two-letter country code", &paese));
    }
    let mut codice = compact(&node.required_text("IdCodice")?);
    // "IT01234567890" under IdPaese IT: the country written twice.
    if let Some(rest) = codice.strip_prefix(paese.as_str())
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        && rest.len() + 2 == codice.len()
    {
        codice = rest.to_owned();
    }
    if codice.is_empty() || codice.chars().count() > 28 {
        return Err(node.invalid("IdCodice", "1 to 28 characters", &codice));
    }
    Ok(IdFiscaleIva { paese, codice })
}

/// A party's DatiAnagrafici and Sede (under `holder`).
fn party(anagrafici: &Node<'_>, seller: bool, holder: &Node<'_>) -> Result<Party, ImportError> {
    let id_fiscale_iva = match anagrafici.optional("IdFiscaleIVA") {
        Some(node) => Some(id_fiscale_iva(&node)?),
        None if seller => return Err(anagrafici.missing("IdFiscaleIVA")),
        None => None,
    };
    let codice_fiscale = anagrafici.text("CodiceFiscale")?.map(|cf| compact(&cf));
    if let Some(cf) = &codice_fiscale
        && (!(11..=16).contains(&cf.len()) || !cf.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(anagrafici.invalid("CodiceFiscale", "11 to 16 letters and digits", cf));
    }
    if id_fiscale_iva.is_none() && codice_fiscale.is_none() {
        return Err(anagrafici.missing("IdFiscaleIVA"));
    }
    let anagrafica = anagrafici.required("Anagrafica")?;
    let denominazione = anagrafica.text("Denominazione")?;
    let nome = anagrafica.text("Nome")?;
    let cognome = anagrafica.text("Cognome")?;
    if denominazione.is_none() && (nome.is_none() || cognome.is_none()) {
        return Err(anagrafica.missing(if nome.is_some() || cognome.is_some() {
            if nome.is_none() { "Nome" } else { "Cognome" }
        } else {
            "Denominazione"
        }));
    }
    let sede = holder.required("Sede")?;
    Ok(Party {
        id_fiscale_iva,
        codice_fiscale,
        denominazione,
        nome,
        cognome,
        sede: Sede {
            indirizzo: sede.required_text("Indirizzo")?,
            numero_civico: sede.text("NumeroCivico")?,
            cap: sede.required_text("CAP")?,
            comune: sede.required_text("Comune")?,
            provincia: sede.text("Provincia")?,
            nazione: compact(&sede.required_text("Nazione")?),
        },
    })
}

fn invoice(
    body: &Node<'_>,
    format: Format,
    seller: &Party,
    buyer: &Party,
) -> Result<Invoice, ImportError> {
    let generali = body.required("DatiGenerali")?;
    let documento = generali.required("DatiGeneraliDocumento")?;

    let tipo = documento.required_text("TipoDocumento")?;
    let tipo_documento = TipoDocumento::parse(&tipo).ok_or_else(|| {
        documento.invalid(
            "TipoDocumento",
            "a FatturaPA TipoDocumento (TD01-TD06, TD16-TD29)",
            &tipo,
        )
    })?;
    let divisa = compact(&documento.required_text("Divisa")?);
    if divisa.len() != 3 || !divisa.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(documento.invalid("Divisa", "an ISO 4217 currency code", &divisa));
    }
    let data = documento
        .date("Data")?
        .ok_or_else(|| documento.missing("Data"))?;
    let numero = documento.required_text("Numero")?;
    if numero.chars().count() > 20 {
        return Err(documento.invalid("Numero", "at most 20 characters", &numero));
    }

    let ritenute = documento
        .all("DatiRitenuta")
        .iter()
        .map(|node| {
            Ok(Ritenuta {
                tipo: node.required_code("TipoRitenuta", "RT", 6)?,
                importo: node.required_decimal("ImportoRitenuta")?,
                aliquota: node.required_decimal("AliquotaRitenuta")?,
                causale: node.text("CausalePagamento")?,
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    let bollo = documento
        .optional("DatiBollo")
        .map(|node| {
            Ok::<_, ImportError>(Bollo {
                importo: node.decimal("ImportoBollo")?,
            })
        })
        .transpose()?;
    let casse = documento
        .all("DatiCassaPrevidenziale")
        .iter()
        .map(|node| {
            Ok(Cassa {
                tipo: node.required_code("TipoCassa", "TC", 22)?,
                aliquota: node.required_decimal("AlCassa")?,
                importo_contributo: node.required_decimal("ImportoContributoCassa")?,
                imponibile: node.decimal("ImponibileCassa")?,
                aliquota_iva: node.required_decimal("AliquotaIVA")?,
                ritenuta: node.text("Ritenuta")?.is_some_and(|r| r == "SI"),
                natura: node.text("Natura")?,
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    let totale_dichiarato = documento.decimal("ImportoTotaleDocumento")?;
    let arrotondamento = documento.decimal("Arrotondamento")?;

    let beni_servizi = body.required("DatiBeniServizi")?;
    let riepiloghi = beni_servizi.all("DatiRiepilogo");
    if riepiloghi.is_empty() {
        return Err(beni_servizi.missing("DatiRiepilogo"));
    }
    let riepilogo = riepiloghi
        .iter()
        .map(|node| {
            let esigibilita = node.text("EsigibilitaIVA")?;
            if let Some(value) = &esigibilita
                && !matches!(value.as_str(), "I" | "D" | "S")
            {
                return Err(node.invalid("EsigibilitaIVA", "I, D or S", value));
            }
            Ok(Riepilogo {
                aliquota_iva: node.required_decimal("AliquotaIVA")?,
                natura: node.text("Natura")?,
                imponibile: node.required_decimal("ImponibileImporto")?,
                imposta: node.required_decimal("Imposta")?,
                esigibilita,
                arrotondamento: node.decimal("Arrotondamento")?,
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;

    let pagamenti = body
        .all("DatiPagamento")
        .iter()
        .map(dati_pagamento)
        .collect::<Result<Vec<_>, ImportError>>()?;
    let allegati = body
        .all("Allegati")
        .iter()
        .map(allegato)
        .collect::<Result<Vec<_>, ImportError>>()?;

    let (importo_totale, total_computed) = match totale_dichiarato {
        Some(total) => (total, false),
        None => (
            riepilogo
                .iter()
                .map(|r| r.imponibile + r.imposta)
                .sum::<Decimal>()
                + arrotondamento.unwrap_or_default(),
            true,
        ),
    };
    let split_vat: Decimal = riepilogo
        .iter()
        .filter(|r| r.esigibilita.as_deref() == Some("S"))
        .map(|r| r.imposta)
        .sum();
    let split_payment = riepilogo
        .iter()
        .any(|r| r.esigibilita.as_deref() == Some("S"));
    let withheld: Decimal = ritenute.iter().map(|r| r.importo).sum();

    Ok(Invoice {
        format,
        seller: seller.clone(),
        buyer: buyer.clone(),
        tipo_documento,
        divisa,
        data,
        numero,
        importo_totale,
        total_computed,
        arrotondamento,
        riepilogo,
        ritenute,
        bollo,
        casse,
        split_payment,
        importo_dovuto: importo_totale - withheld - split_vat,
        pagamenti,
        allegati,
    })
}

fn dati_pagamento(node: &Node<'_>) -> Result<DatiPagamento, ImportError> {
    let condizioni = node.required_code("CondizioniPagamento", "TP", 3)?;
    let dettagli = node
        .all("DettaglioPagamento")
        .iter()
        .map(|d| {
            let giorni = d
                .text("GiorniTerminiPagamento")?
                .map(|text| {
                    text.parse::<u32>()
                        .ok()
                        .filter(|days| *days <= 999)
                        .ok_or_else(|| {
                            d.invalid(
                                "GiorniTerminiPagamento",
                                "a number of days from 0 to 999",
                                &text,
                            )
                        })
                })
                .transpose()?;
            Ok(DettaglioPagamento {
                modalita: d.required_code("ModalitaPagamento", "MP", 23)?,
                data_scadenza: d.date("DataScadenzaPagamento")?,
                giorni_termini: giorni,
                data_riferimento_termini: d.date("DataRiferimentoTerminiPagamento")?,
                importo: d.required_decimal("ImportoPagamento")?,
                iban: match d.text("IBAN")?.map(|iban| compact(&iban)) {
                    Some(iban)
                        if iban.len() > 34 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                    {
                        return Err(d.invalid(
                            "IBAN",
                            "an IBAN (at most 34 letters and digits)",
                            &iban,
                        ));
                    }
                    iban => iban,
                },
                istituto_finanziario: d.text("IstitutoFinanziario")?,
            })
        })
        .collect::<Result<Vec<_>, ImportError>>()?;
    if dettagli.is_empty() {
        return Err(node.missing("DettaglioPagamento"));
    }
    Ok(DatiPagamento {
        condizioni,
        dettagli,
    })
}

fn allegato(node: &Node<'_>) -> Result<Allegato, ImportError> {
    let nome = node.required_text("NomeAttachment")?;
    let encoded = node
        .optional("Attachment")
        .map(|a| {
            a.element
                .text
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect::<String>()
        })
        .filter(|text| !text.is_empty())
        .ok_or_else(|| node.missing("Attachment"))?;
    let data = STANDARD
        .decode(encoded.as_bytes())
        .map_err(|_| node.invalid("Attachment", "base64", &encoded))?;
    Ok(Allegato {
        nome,
        formato: node.text("FormatoAttachment")?,
        descrizione: node.text("DescrizioneAttachment")?,
        data,
    })
}
