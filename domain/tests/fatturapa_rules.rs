//! What the FatturaPA parser accepts and refuses, one rule a test, on
//! invoices written here; and two properties: any invoice it is given
//! round-trips its amounts exactly, and no bytes make it panic.
#![allow(clippy::expect_used)] // a test states what it expects

use domain::fatturapa::{
    self, Direction, Format, ImportCode, ImportError, Invoice, MAX_FILE_BYTES,
};
use proptest::prelude::*;

/// The parts of a generated invoice a test varies.
struct Spec {
    /// `Some("p")`: `<p:FatturaElettronica xmlns:p=…>`; `None`: a default
    /// namespace.
    prefix: Option<&'static str>,
    namespace: &'static str,
    versione: &'static str,
    declaration: &'static str,
    seller_id: &'static str,
    seller_name: &'static str,
    bodies: Vec<Body>,
}

struct Body {
    numero: String,
    totale: Option<String>,
    imponibile: String,
    imposta: String,
    esigibilita: &'static str,
    ritenute: Vec<String>,
    pagamenti: Vec<String>,
    extra: String,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            prefix: Some("p"),
            namespace: fatturapa::NAMESPACE_V12,
            versione: "FPR12",
            declaration: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            seller_id: "<IdPaese>IT</IdPaese><IdCodice>12345678903</IdCodice>",
            seller_name: "<Denominazione>ALPHA SRL</Denominazione>",
            bodies: vec![Body::default()],
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body {
            numero: "FT-1".into(),
            totale: Some("122.00".into()),
            imponibile: "100.00".into(),
            imposta: "22.00".into(),
            esigibilita: "I",
            ritenute: vec![],
            pagamenti: vec!["122.00".into()],
            extra: String::new(),
        }
    }
}

const SEDE: &str = "<Sede><Indirizzo>VIA ROMA</Indirizzo><NumeroCivico>1</NumeroCivico><CAP>00100</CAP><Comune>ROMA</Comune><Provincia>RM</Provincia><Nazione>IT</Nazione></Sede>";

impl Spec {
    fn xml(&self) -> String {
        let (open, close) = match self.prefix {
            Some(p) => (
                format!(
                    "<{p}:FatturaElettronica versione=\"{}\" xmlns:{p}=\"{}\">",
                    self.versione, self.namespace
                ),
                format!("</{p}:FatturaElettronica>"),
            ),
            None => (
                format!(
                    "<FatturaElettronica versione=\"{}\" xmlns=\"{}\">",
                    self.versione, self.namespace
                ),
                "</FatturaElettronica>".to_owned(),
            ),
        };
        let header = format!(
            "<FatturaElettronicaHeader>\
             <CedentePrestatore><DatiAnagrafici><IdFiscaleIVA>{}</IdFiscaleIVA>\
             <Anagrafica>{}</Anagrafica><RegimeFiscale>RF01</RegimeFiscale></DatiAnagrafici>{SEDE}</CedentePrestatore>\
             <CessionarioCommittente><DatiAnagrafici><CodiceFiscale>RSSMRA80A01H501U</CodiceFiscale>\
             <Anagrafica><Nome>MARIO</Nome><Cognome>ROSSI</Cognome></Anagrafica></DatiAnagrafici>{SEDE}</CessionarioCommittente>\
             </FatturaElettronicaHeader>",
            self.seller_id, self.seller_name
        );
        let bodies: String = self.bodies.iter().map(Body::xml).collect();
        format!("{}{open}{header}{bodies}{close}", self.declaration)
    }

    fn parse(&self) -> Result<Vec<Invoice>, ImportError> {
        fatturapa::parse(self.xml().as_bytes())
    }
}

impl Body {
    fn xml(&self) -> String {
        let ritenute: String = self
            .ritenute
            .iter()
            .map(|importo| {
                format!(
                    "<DatiRitenuta><TipoRitenuta>RT01</TipoRitenuta><ImportoRitenuta>{importo}</ImportoRitenuta>\
                     <AliquotaRitenuta>20.00</AliquotaRitenuta><CausalePagamento>A</CausalePagamento></DatiRitenuta>"
                )
            })
            .collect();
        let totale = self
            .totale
            .as_ref()
            .map(|t| format!("<ImportoTotaleDocumento>{t}</ImportoTotaleDocumento>"))
            .unwrap_or_default();
        let dettagli: String = self
            .pagamenti
            .iter()
            .map(|importo| {
                format!(
                    "<DettaglioPagamento><ModalitaPagamento>MP05</ModalitaPagamento>\
                     <DataScadenzaPagamento>2024-02-29</DataScadenzaPagamento>\
                     <ImportoPagamento>{importo}</ImportoPagamento><IBAN>IT60X0542811101000000123456</IBAN></DettaglioPagamento>"
                )
            })
            .collect();
        let pagamento = if dettagli.is_empty() {
            String::new()
        } else {
            format!(
                "<DatiPagamento><CondizioniPagamento>TP02</CondizioniPagamento>{dettagli}</DatiPagamento>"
            )
        };
        format!(
            "<FatturaElettronicaBody><DatiGenerali><DatiGeneraliDocumento>\
             <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa><Data>2024-01-31</Data>\
             <Numero>{}</Numero>{ritenute}{totale}</DatiGeneraliDocumento></DatiGenerali>\
             <DatiBeniServizi><DettaglioLinee><NumeroLinea>1</NumeroLinea><Descrizione>X</Descrizione>\
             <PrezzoUnitario>100.00</PrezzoUnitario><PrezzoTotale>100.00</PrezzoTotale><AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>\
             <DatiRiepilogo><AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>{}</ImponibileImporto>\
             <Imposta>{}</Imposta><EsigibilitaIVA>{}</EsigibilitaIVA></DatiRiepilogo></DatiBeniServizi>\
             {pagamento}{}</FatturaElettronicaBody>",
            self.numero, self.imponibile, self.imposta, self.esigibilita, self.extra
        )
    }
}

fn refused(spec: &Spec) -> ImportError {
    spec.parse().expect_err("refused")
}

#[test]
fn a_plain_invoice_reads_whole() {
    let invoices = Spec::default().parse().expect("imports");
    assert_eq!(invoices.len(), 1);
    let invoice = &invoices[0];
    assert_eq!(invoice.format, Format::Fpr12);
    assert_eq!(invoice.numero, "FT-1");
    assert_eq!(invoice.importo_totale.to_string(), "122.00");
    assert!(!invoice.total_computed);
    assert_eq!(invoice.buyer.display_name(), "MARIO ROSSI");
    assert_eq!(
        invoice.buyer.codice_fiscale.as_deref(),
        Some("RSSMRA80A01H501U")
    );
    assert_eq!(invoice.seller.sede.provincia.as_deref(), Some("RM"));
    let dettaglio = &invoice.pagamenti[0].dettagli[0];
    assert_eq!(
        dettaglio.iban.as_deref(),
        Some("IT60X0542811101000000123456")
    );
    assert_eq!(
        invoice.direction_for(&["12345678903"]),
        Some(Direction::Sent)
    );
    assert_eq!(
        invoice.direction_for(&["RSSMRA80A01H501U"]),
        Some(Direction::Received)
    );
}

#[test]
fn any_prefix_or_a_default_namespace() {
    for prefix in [Some("p"), Some("ns3"), Some("a"), None] {
        let spec = Spec {
            prefix,
            ..Spec::default()
        };
        assert_eq!(spec.parse().expect("imports").len(), 1, "{prefix:?}");
    }
}

#[test]
fn a_bom_and_no_declaration() {
    let with_bom = format!("\u{feff}{}", Spec::default().xml());
    assert!(fatturapa::parse(with_bom.as_bytes()).is_ok());
    let bare = Spec {
        declaration: "",
        ..Spec::default()
    };
    assert!(bare.parse().is_ok());
}

#[test]
fn iso_8859_1_and_windows_1252_names_come_out_right() {
    for label in ["ISO-8859-1", "iso-8859-1", "windows-1252", "latin1"] {
        let spec = Spec {
            declaration: "",
            seller_name: "<Denominazione>CITTÀ SOCIETÀ PERÒ</Denominazione>",
            ..Spec::default()
        };
        let text = format!("<?xml version=\"1.0\" encoding=\"{label}\"?>{}", spec.xml());
        // Encode as the declaration says: these letters are one byte each.
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        assert!(!unmappable);
        let invoice = &fatturapa::parse(&bytes).expect(label)[0];
        assert_eq!(
            invoice.seller.display_name(),
            "CITTÀ SOCIETÀ PERÒ",
            "{label}"
        );
    }
}

#[test]
fn decimals_with_two_to_eight_places_and_whitespace() {
    let spec = Spec {
        bodies: vec![Body {
            totale: Some("\n  122.00000000  ".into()),
            imponibile: " 100.000 ".into(),
            imposta: "22.0000".into(),
            pagamenti: vec!["\t122.00\t".into()],
            ..Body::default()
        }],
        ..Spec::default()
    };
    let invoice = &spec.parse().expect("imports")[0];
    assert_eq!(invoice.importo_totale.to_string(), "122.00000000");
    assert_eq!(invoice.riepilogo[0].imponibile.to_string(), "100.000");
    assert_eq!(
        invoice.pagamenti[0].dettagli[0].importo.to_string(),
        "122.00"
    );

    for bad in ["122", "122.0", "122.123456789", "1,22", "abc"] {
        let spec = Spec {
            bodies: vec![Body {
                totale: Some(bad.into()),
                ..Body::default()
            }],
            ..Spec::default()
        };
        let error = refused(&spec);
        assert_eq!(error.code, ImportCode::InvalidField, "{bad}");
        assert_eq!(
            error.path.as_deref(),
            Some(
                "FatturaElettronica/FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/ImportoTotaleDocumento"
            )
        );
    }
}

#[test]
fn tax_ids_with_spaces_or_a_repeated_country_are_normalised() {
    for id in [
        "<IdPaese>IT</IdPaese><IdCodice>12345678903</IdCodice>",
        "<IdPaese> it </IdPaese><IdCodice> 123 456 789 03 </IdCodice>",
        "<IdPaese>IT</IdPaese><IdCodice>IT12345678903</IdCodice>",
        "<IdPaese>IT</IdPaese><IdCodice>it 12345678903</IdCodice>",
    ] {
        let spec = Spec {
            seller_id: id,
            ..Spec::default()
        };
        let invoice = &spec.parse().expect(id)[0];
        let seller = invoice.seller.id_fiscale_iva.as_ref().expect("id");
        assert_eq!(
            (seller.paese.as_str(), seller.codice.as_str()),
            ("IT", "12345678903"),
            "{id}"
        );
    }
}

#[test]
fn both_formats_of_1_2() {
    for (versione, format) in [("FPA12", Format::Fpa12), ("FPR12", Format::Fpr12)] {
        let spec = Spec {
            versione,
            ..Spec::default()
        };
        assert_eq!(spec.parse().expect(versione)[0].format, format);
    }
}

#[test]
fn a_lotto_is_one_invoice_per_body() {
    let spec = Spec {
        bodies: (1..=3)
            .map(|n| Body {
                numero: format!("L-{n}"),
                ..Body::default()
            })
            .collect(),
        ..Spec::default()
    };
    let numbers: Vec<String> = spec
        .parse()
        .expect("imports")
        .into_iter()
        .map(|i| i.numero)
        .collect();
    assert_eq!(numbers, ["L-1", "L-2", "L-3"]);
}

#[test]
fn the_total_when_absent_is_computed_and_said_so() {
    let spec = Spec {
        bodies: vec![Body {
            totale: None,
            extra: String::new(),
            ..Body::default()
        }],
        ..Spec::default()
    };
    let invoice = &spec.parse().expect("imports")[0];
    assert!(invoice.total_computed);
    assert_eq!(invoice.importo_totale.to_string(), "122.00");
}

#[test]
fn the_amount_due_subtracts_ritenute_and_split_vat() {
    let spec = Spec {
        bodies: vec![Body {
            esigibilita: "S",
            ritenute: vec!["10.00".into(), "5.50".into()],
            ..Body::default()
        }],
        ..Spec::default()
    };
    let invoice = &spec.parse().expect("imports")[0];
    assert!(invoice.split_payment);
    assert_eq!(invoice.ritenute.len(), 2);
    // 122.00 - 10.00 - 5.50 - 22.00
    assert_eq!(invoice.importo_dovuto.to_string(), "84.50");
}

#[test]
fn text_longer_than_the_schema_allows_is_refused() {
    let long_name = format!("<Denominazione>{}</Denominazione>", "A".repeat(81));
    let spec = Spec {
        seller_name: Box::leak(long_name.into_boxed_str()),
        ..Spec::default()
    };
    let error = refused(&spec);
    assert_eq!(error.code, ImportCode::InvalidField);
    assert_eq!(
        error.path.as_deref(),
        Some(
            "FatturaElettronica/FatturaElettronicaHeader/CedentePrestatore/DatiAnagrafici/Anagrafica/Denominazione"
        )
    );
    assert!(
        error.reason.contains("at most 80 characters"),
        "{}",
        error.reason
    );
    // Eighty, accented, are fine.
    let spec = Spec {
        seller_name: Box::leak(
            format!("<Denominazione>{}</Denominazione>", "À".repeat(80)).into_boxed_str(),
        ),
        ..Spec::default()
    };
    assert!(spec.parse().is_ok());

    let xml = Spec::default().xml().replace(
        "<IBAN>IT60X0542811101000000123456</IBAN>",
        &format!("<IBAN>IT60{}</IBAN>", "1".repeat(40)),
    );
    let error = fatturapa::parse(xml.as_bytes()).expect_err("refused");
    assert_eq!(error.code, ImportCode::InvalidField);
    assert!(
        error.path.as_deref().is_some_and(|p| p.ends_with("/IBAN")),
        "{error:?}"
    );

    let xml = Spec::default()
        .xml()
        .replace("RSSMRA80A01H501U", "RSSMRA80A01H501UXX");
    let error = fatturapa::parse(xml.as_bytes()).expect_err("refused");
    assert!(
        error
            .path
            .as_deref()
            .is_some_and(|p| p.ends_with("/CodiceFiscale")),
        "{error:?}"
    );
}

#[test]
fn another_root_or_namespace_is_not_fatturapa() {
    let xml = Spec::default()
        .xml()
        .replace("FatturaElettronica ", "Fattura ")
        .replace("FatturaElettronica>", "Fattura>");
    let error = fatturapa::parse(xml.as_bytes()).expect_err("refused");
    assert_eq!(error.code, ImportCode::NotFatturapa);
    let spec = Spec {
        namespace: "urn:example:other",
        ..Spec::default()
    };
    assert_eq!(refused(&spec).code, ImportCode::NotFatturapa);
}

#[test]
fn other_versions_are_unsupported_naming_the_supported_ones() {
    for (versione, namespace) in [
        ("FPR11", fatturapa::NAMESPACE_V12),
        ("1.1", "http://www.fatturapa.gov.it/sdi/fatturapa/v1.1"),
        ("", fatturapa::NAMESPACE_V12),
    ] {
        let spec = Spec {
            versione,
            namespace,
            ..Spec::default()
        };
        let error = refused(&spec);
        assert_eq!(error.code, ImportCode::UnsupportedVersion, "{versione}");
        assert!(
            error.reason.contains("FPA12") && error.reason.contains("FPR12"),
            "{}",
            error.reason
        );
    }
}

#[test]
fn any_dtd_is_forbidden() {
    for doctype in [
        "<!DOCTYPE p:FatturaElettronica>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>",
        "<!DOCTYPE x SYSTEM \"http://example.invalid/x.dtd\">",
    ] {
        let xml = format!(
            "<?xml version=\"1.0\"?>{doctype}{}",
            Spec {
                declaration: "",
                ..Spec::default()
            }
            .xml()
        );
        let error = fatturapa::parse(xml.as_bytes()).expect_err(doctype);
        assert_eq!(error.code, ImportCode::ForbiddenDtd, "{doctype}");
    }
}

#[test]
fn a_missing_field_names_its_path() {
    let xml = Spec {
        bodies: vec![Body::default(), Body::default()],
        ..Spec::default()
    }
    .xml();
    // Remove the second body's Numero only.
    let at = xml.rfind("<Numero>FT-1</Numero>").expect("numero");
    let xml = format!(
        "{}{}",
        &xml[..at],
        &xml[at + "<Numero>FT-1</Numero>".len()..]
    );
    let error = fatturapa::parse(xml.as_bytes()).expect_err("refused");
    assert_eq!(error.code, ImportCode::MissingField);
    assert_eq!(
        error.path.as_deref(),
        Some(
            "FatturaElettronica/FatturaElettronicaBody[2]/DatiGenerali/DatiGeneraliDocumento/Numero"
        )
    );
}

#[test]
fn malformed_and_truncated_xml() {
    let xml = Spec::default().xml();
    for text in [
        &xml[..xml.len() / 2],
        "<p:FatturaElettronica",
        "not xml at all",
    ] {
        let error = fatturapa::parse(text.as_bytes()).expect_err(text);
        assert_eq!(error.code, ImportCode::MalformedXml, "{text}");
    }
    let with_nul = xml.replace("FT-1", "FT\u{0}1");
    assert_eq!(
        fatturapa::parse(with_nul.as_bytes()).expect_err("nul").code,
        ImportCode::MalformedXml
    );
}

#[test]
fn over_five_megabytes_is_too_large() {
    let xml = Spec::default().xml();
    let padded = format!("{xml}{}", " ".repeat(MAX_FILE_BYTES + 1 - xml.len()));
    assert_eq!(
        fatturapa::parse(padded.as_bytes())
            .expect_err("refused")
            .code,
        ImportCode::FileTooLarge
    );
}

fn amount(places: u32) -> impl Strategy<Value = String> {
    (0u64..100_000_000_000, 0u64..10u64.pow(places)).prop_map(move |(whole, fraction)| {
        format!("{whole}.{fraction:0width$}", width = places as usize)
    })
}

proptest! {
    #[test]
    fn generated_invoices_round_trip_their_amounts_exactly(
        imponibile in (2u32..=8).prop_flat_map(amount),
        imposta in (2u32..=8).prop_flat_map(amount),
        ritenute in proptest::collection::vec((2u32..=8).prop_flat_map(amount), 0..3),
        pagamenti in proptest::collection::vec((2u32..=8).prop_flat_map(amount), 0..4),
        computed in any::<bool>(),
    ) {
        let spec = Spec {
            bodies: vec![Body {
                totale: None,
                imponibile: imponibile.clone(),
                imposta: imposta.clone(),
                ritenute: ritenute.clone(),
                pagamenti: pagamenti.clone(),
                ..Body::default()
            }],
            ..Spec::default()
        };
        let spec = if computed { spec } else {
            let mut spec = spec;
            spec.bodies[0].totale = Some(imponibile.clone());
            spec
        };
        let invoice = spec.parse().expect("imports").remove(0);
        prop_assert_eq!(invoice.riepilogo[0].imponibile.to_string(), imponibile.clone());
        prop_assert_eq!(invoice.riepilogo[0].imposta.to_string(), imposta.clone());
        let read: Vec<String> = invoice.ritenute.iter().map(|r| r.importo.to_string()).collect();
        prop_assert_eq!(read, ritenute.clone());
        let read: Vec<String> = invoice
            .pagamenti
            .iter()
            .flat_map(|p| p.dettagli.iter().map(|d| d.importo.to_string()))
            .collect();
        prop_assert_eq!(read, pagamenti);
        let parse = |t: &str| t.parse::<rust_decimal::Decimal>().expect("decimal");
        let total = if computed { parse(&imponibile) + parse(&imposta) } else { parse(&imponibile) };
        prop_assert_eq!(invoice.importo_totale, total);
        let withheld: rust_decimal::Decimal = ritenute.iter().map(|r| parse(r)).sum();
        prop_assert_eq!(invoice.importo_dovuto, total - withheld);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = fatturapa::parse(&bytes);
        let _ = fatturapa::unwrap_p7m(&bytes);
    }

    #[test]
    fn mangled_invoices_never_panic(cut in 0usize..4000, byte in any::<u8>()) {
        let mut bytes = Spec::default().xml().into_bytes();
        let at = cut % bytes.len();
        bytes[at] = byte;
        let _ = fatturapa::parse(&bytes);
        bytes.truncate(at);
        let _ = fatturapa::parse(&bytes);
    }
}
