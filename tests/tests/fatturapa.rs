//! The FatturaPA parser (`domain::fatturapa`, pure, so no server here)
//! against real files: the agency's seven samples
//! (their facts from `tests/fixtures/fatturapa/official/README.md`) and
//! every real-world file, which must yield the facts its `manifest.json`
//! lists or be refused with the code it gives.
#![allow(clippy::expect_used)] // a test states what it expects

use domain::fatturapa::{self, Direction, ImportCode, Invoice};
use serde_json::Value;
use std::path::PathBuf;

fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fatturapa")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn official(name: &str) -> Vec<Invoice> {
    fatturapa::parse(&fixture(&format!("official/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (TipoDocumento, Numero, Data, total, [(modalita, scadenza, importo)]) per body.
type Expected<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    (&'a str, &'a str, &'a str),
);

fn check_official(name: &str, bodies: &[Expected<'_>]) {
    let invoices = official(name);
    assert_eq!(invoices.len(), bodies.len(), "{name}: bodies");
    for (invoice, (td, numero, data, total, (mp, scadenza, importo))) in invoices.iter().zip(bodies)
    {
        assert_eq!(invoice.tipo_documento.as_str(), *td, "{name}");
        assert_eq!(invoice.numero, *numero, "{name}");
        assert_eq!(invoice.data.to_string(), *data, "{name}");
        assert_eq!(invoice.divisa, "EUR", "{name}");
        // No sample has ImportoTotaleDocumento: the total is computed.
        assert!(invoice.total_computed, "{name}");
        assert_eq!(invoice.importo_totale.to_string(), *total, "{name}");
        assert_eq!(invoice.pagamenti.len(), 1, "{name}");
        let pagamento = &invoice.pagamenti[0];
        assert_eq!(pagamento.condizioni, "TP01", "{name}");
        assert_eq!(pagamento.dettagli.len(), 1, "{name}");
        let dettaglio = &pagamento.dettagli[0];
        assert_eq!(dettaglio.modalita, *mp, "{name}");
        assert_eq!(
            dettaglio.data_scadenza.map(|d| d.to_string()).as_deref(),
            Some(*scadenza),
            "{name}"
        );
        assert_eq!(dettaglio.importo.to_string(), *importo, "{name}");
        let seller = invoice.seller.id_fiscale_iva.as_ref().expect("seller id");
        assert_eq!(
            (seller.paese.as_str(), seller.codice.as_str()),
            ("IT", "01234567890")
        );
        assert_eq!(invoice.buyer.id_fiscale_iva, None);
        assert_eq!(invoice.buyer.codice_fiscale.as_deref(), Some("09876543210"));
        assert_eq!(
            invoice.direction_for(&["01234567890"]),
            Some(Direction::Sent)
        );
        assert_eq!(
            invoice.direction_for(&["09876543210"]),
            Some(Direction::Received)
        );
        assert_eq!(invoice.direction_for(&["12345678903"]), None);
        // Nothing withheld, no split payment: the amount due is the total.
        assert_eq!(invoice.importo_dovuto, invoice.importo_totale, "{name}");
    }
}

#[test]
fn the_agencys_samples_import_with_their_facts() {
    check_official(
        "IT01234567890_FPA01.xml",
        &[(
            "TD01",
            "123",
            "2017-01-18",
            "6.10",
            ("MP01", "2017-02-18", "6.10"),
        )],
    );
    check_official(
        "IT01234567890_FPA02.xml",
        &[(
            "TD01",
            "123",
            "2017-01-18",
            "30.50",
            ("MP01", "2017-03-30", "30.50"),
        )],
    );
    check_official(
        "IT01234567890_FPA03.xml",
        &[
            (
                "TD01",
                "12",
                "2017-01-18",
                "30.50",
                ("MP01", "2017-02-18", "30.50"),
            ),
            (
                "TD01",
                "456",
                "2017-01-20",
                "2440.00",
                ("MP19", "2017-02-20", "2440.00"),
            ),
        ],
    );
    check_official(
        "IT01234567890_FPR01.xml",
        &[(
            "TD01",
            "123",
            "2014-12-18",
            "6.10",
            ("MP01", "2015-01-30", "6.10"),
        )],
    );
    // Its summary declares 27.00 + 5.95 while its lines sum to 25.00: as
    // published, not "fixed".
    check_official(
        "IT01234567890_FPR02.xml",
        &[(
            "TD01",
            "123",
            "2014-12-18",
            "32.95",
            ("MP01", "2015-01-30", "32.95"),
        )],
    );
    check_official(
        "IT01234567890_FPR02_rev2018.xml",
        &[(
            "TD01",
            "123",
            "2014-12-18",
            "30.50",
            ("MP01", "2015-01-30", "30.50"),
        )],
    );
    check_official(
        "IT01234567890_FPR03.xml",
        &[
            (
                "TD01",
                "123",
                "2014-12-18",
                "32.95",
                ("MP01", "2015-01-30", "32.95"),
            ),
            (
                "TD01",
                "456",
                "2014-12-20",
                "2440.00",
                ("MP19", "2015-01-28", "2440.00"),
            ),
        ],
    );
}

#[test]
fn the_samples_show_their_parties_and_vat_summary() {
    let invoice = &official("IT01234567890_FPA02.xml")[0];
    assert_eq!(invoice.seller.denominazione.as_deref(), Some("ALPHA SRL"));
    assert_eq!(invoice.buyer.display_name(), "AMMINISTRAZIONE BETA");
    assert_eq!(invoice.riepilogo.len(), 1);
    let riepilogo = &invoice.riepilogo[0];
    assert_eq!(riepilogo.aliquota_iva.to_string(), "22.00");
    assert_eq!(riepilogo.imponibile.to_string(), "25.00");
    assert_eq!(riepilogo.imposta.to_string(), "5.50");
    assert_eq!(riepilogo.esigibilita.as_deref(), Some("D"));
    assert!(!invoice.split_payment);

    let rev2018 = &official("IT01234567890_FPR02_rev2018.xml")[0];
    assert_eq!(
        rev2018.seller.denominazione.as_deref(),
        Some("SOCIETA' ALPHA SRL")
    );
    assert_eq!(rev2018.buyer.denominazione.as_deref(), Some("BETA GAMMA"));
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn texts(value: &Value) -> Vec<Option<String>> {
    value
        .as_array()
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default()
}

fn check_party(file: &str, party: &fatturapa::Party, expected: &Value) {
    match expected["IdFiscaleIVA"].as_object() {
        Some(id) => {
            let actual = party.id_fiscale_iva.as_ref().expect("IdFiscaleIVA");
            assert_eq!(
                Some(actual.paese.as_str()),
                id["IdPaese"].as_str(),
                "{file}"
            );
            assert_eq!(
                Some(actual.codice.as_str()),
                id["IdCodice"].as_str(),
                "{file}"
            );
        }
        None => assert_eq!(party.id_fiscale_iva, None, "{file}"),
    }
    assert_eq!(
        party.codice_fiscale,
        text(&expected["CodiceFiscale"]),
        "{file}"
    );
}

fn check_body(file: &str, invoice: &Invoice, expected: &Value) {
    assert_eq!(
        invoice.tipo_documento.as_str(),
        expected["TipoDocumento"],
        "{file}"
    );
    assert_eq!(invoice.divisa, expected["Divisa"], "{file}");
    assert_eq!(invoice.data.to_string(), expected["Data"], "{file}");
    assert_eq!(invoice.numero, expected["Numero"], "{file}");
    match text(&expected["ImportoTotaleDocumento"]) {
        Some(total) => {
            assert!(!invoice.total_computed, "{file}");
            assert_eq!(invoice.importo_totale.to_string(), total, "{file}");
        }
        None => assert!(invoice.total_computed, "{file}"),
    }
    assert_eq!(
        invoice.arrotondamento.map(|d| d.to_string()),
        text(&expected["Arrotondamento"]),
        "{file}"
    );
    check_party(file, &invoice.seller, &expected["seller"]);
    check_party(file, &invoice.buyer, &expected["buyer"]);

    let condizioni: Vec<Option<String>> = invoice
        .pagamenti
        .iter()
        .map(|p| Some(p.condizioni.clone()))
        .collect();
    assert_eq!(
        condizioni,
        texts(&expected["CondizioniPagamento"]),
        "{file}"
    );
    let dettagli: Vec<(String, String, Option<String>, String)> = invoice
        .pagamenti
        .iter()
        .flat_map(|p| {
            p.dettagli.iter().map(|d| {
                (
                    p.condizioni.clone(),
                    d.modalita.clone(),
                    d.data_scadenza.map(|date| date.to_string()),
                    d.importo.to_string(),
                )
            })
        })
        .collect();
    let expected_dettagli: Vec<(String, String, Option<String>, String)> =
        expected["DettaglioPagamento"]
            .as_array()
            .expect("DettaglioPagamento")
            .iter()
            .map(|d| {
                (
                    text(&d["CondizioniPagamento"]).expect("condizioni"),
                    text(&d["ModalitaPagamento"]).expect("modalita"),
                    text(&d["DataScadenzaPagamento"]),
                    text(&d["ImportoPagamento"]).expect("importo"),
                )
            })
            .collect();
    assert_eq!(dettagli, expected_dettagli, "{file}");

    let ritenute: Vec<Option<String>> = invoice
        .ritenute
        .iter()
        .map(|r| Some(r.importo.to_string()))
        .collect();
    assert_eq!(ritenute, texts(&expected["ImportoRitenuta"]), "{file}");
    let tipi: Vec<Option<String>> = invoice
        .ritenute
        .iter()
        .map(|r| Some(r.tipo.clone()))
        .collect();
    assert_eq!(tipi, texts(&expected["TipoRitenuta"]), "{file}");
    let casse: Vec<(String, String)> = invoice
        .casse
        .iter()
        .map(|c| (c.tipo.clone(), c.importo_contributo.to_string()))
        .collect();
    let expected_casse: Vec<(String, String)> = expected["DatiCassaPrevidenziale"]
        .as_array()
        .expect("casse")
        .iter()
        .map(|c| {
            (
                text(&c["TipoCassa"]).expect("TipoCassa"),
                text(&c["ImportoContributoCassa"]).expect("ImportoContributoCassa"),
            )
        })
        .collect();
    assert_eq!(casse, expected_casse, "{file}");
    let esigibilita: Vec<Option<String>> = invoice
        .riepilogo
        .iter()
        .map(|r| r.esigibilita.clone())
        .collect();
    assert_eq!(esigibilita, texts(&expected["EsigibilitaIVA"]), "{file}");
    assert_eq!(
        Some(invoice.split_payment),
        expected["split_payment"].as_bool(),
        "{file}"
    );
    let arrotondamenti: Vec<Option<String>> = invoice
        .riepilogo
        .iter()
        .filter_map(|r| r.arrotondamento.map(|a| Some(a.to_string())))
        .collect();
    assert_eq!(
        arrotondamenti,
        texts(&expected["Arrotondamento_riepilogo"]),
        "{file}"
    );
    assert_eq!(
        Some(invoice.allegati.len() as u64),
        expected["Allegati"].as_u64(),
        "{file}"
    );
}

#[test]
fn every_real_world_file_yields_its_manifest_facts_or_its_refusal() {
    let manifest: Value =
        serde_json::from_slice(&fixture("real-world/manifest.json")).expect("manifest");
    let entries = manifest.as_array().expect("a list");
    assert_eq!(entries.len(), 17);
    for entry in entries {
        let file = entry["file"].as_str().expect("file");
        let bytes = fixture(&format!("real-world/{file}"));
        let xml = if entry["p7m"].is_null() {
            bytes
        } else {
            let xml = fatturapa::unwrap_p7m(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                Some(xml.len() as u64),
                entry["p7m"]["payload_bytes"].as_u64(),
                "{file}: payload"
            );
            xml
        };
        let parsed = fatturapa::parse(&xml);
        match entry["outcome"].as_str() {
            Some("import") => {
                let invoices = parsed.unwrap_or_else(|e| panic!("{file}: {e}"));
                let bodies = entry["bodies"].as_array().expect("bodies");
                assert_eq!(invoices.len(), bodies.len(), "{file}");
                for (invoice, body) in invoices.iter().zip(bodies) {
                    check_body(file, invoice, body);
                }
            }
            Some("reject") => {
                let error = parsed.expect_err(file);
                assert_eq!(
                    Some(error.code.as_str()),
                    entry["reason"].as_str(),
                    "{file}: {error}"
                );
            }
            other => panic!("{file}: outcome {other:?}"),
        }
    }
}

#[test]
fn declared_windows_1252_is_decoded_by_its_declaration() {
    // UTF-8 byte pairs under a windows-1252 declaration read as the
    // declaration says (the source project expects the same).
    let invoices =
        fatturapa::parse(&fixture("real-world/invoice-windows1252.xml")).expect("imports");
    assert_eq!(invoices[0].seller.display_name(), "MÂªF. Services");
}

#[test]
fn the_signed_real_invoice_carries_its_attachment() {
    let xml =
        fatturapa::unwrap_p7m(&fixture("real-world/IT00484960588_ERKHK.xml.p7m")).expect("unwraps");
    let invoice = &fatturapa::parse(&xml).expect("imports")[0];
    assert_eq!(invoice.allegati.len(), 1);
    let allegato = &invoice.allegati[0];
    assert!(!allegato.nome.is_empty());
    // A base64 ZIP: decoded, it starts with the local file header.
    assert!(
        allegato.data.starts_with(b"PK\x03\x04"),
        "{:?}",
        allegato.formato
    );
}

#[test]
fn the_three_encodings_of_one_signed_file_carry_the_same_invoice() {
    let payloads: Vec<Vec<u8>> = [
        "IT02182030391_31.xml.p7m",
        "IT02182030391_31.Base64.xml.p7m",
        "IT02182030391_31.Base64.CRLF.xml.p7m",
    ]
    .iter()
    .map(|name| fatturapa::unwrap_p7m(&fixture(&format!("real-world/{name}"))).expect(name))
    .collect();
    assert_eq!(payloads[0], payloads[1]);
    assert_eq!(payloads[0], payloads[2]);
    let invoice = &fatturapa::parse(&payloads[0]).expect("imports")[0];
    // Split payment: the VAT is paid by the buyer to the State.
    assert!(invoice.split_payment);
    let vat: rust_decimal::Decimal = invoice.riepilogo.iter().map(|r| r.imposta).sum();
    assert_eq!(invoice.importo_dovuto, invoice.importo_totale - vat);
}

#[test]
fn hostile_files_are_refused_with_their_codes() {
    for (file, code) in [
        ("billion_laughs.xml", ImportCode::ForbiddenDtd),
        ("entity_expansion.xml", ImportCode::ForbiddenDtd),
        ("malformed.xml", ImportCode::MalformedXml),
        ("IT00484960588_ERKHK_MT_001.xml", ImportCode::NotFatturapa),
        ("IT01234567890_FSM10.xml", ImportCode::UnsupportedVersion),
    ] {
        let error = fatturapa::parse(&fixture(&format!("real-world/{file}"))).expect_err(file);
        assert_eq!(error.code, code, "{file}: {error}");
    }
}
