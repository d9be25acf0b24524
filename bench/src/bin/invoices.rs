//! FatturaPA import benchmark (issue 11), on SQLite and then on
//! PostgreSQL, against the real `attiva` binary in its own process (so its
//! peak memory, VmHWM, is its own):
//!
//! 1. one zip of 10,000 single-invoice files, stored uncompressed so the
//!    archive itself is about 50 MB (each file about 5 KB: a header, six
//!    lines, the summary and a payment), sent to
//!    `POST /v1/panel/invoices/import`: invoices/s, and the server's peak
//!    memory before and after;
//! 2. single-file imports (`application/xml`) by 8 clients at once for
//!    BENCH_SECONDS: imports/s, p50 and p99.
//!
//! Targets: at least 1,000 invoices/s through the zip on both databases,
//! peak memory under 150 MiB during the 50 MB zip. It prints and checks
//! nothing about speed.
//!
//! `cargo run --release -p bench --bin invoices` (env: BENCH_SECONDS,
//! BENCH_INVOICES, BENCH_CONCURRENCY, BENCH_SERVER_ENV). The service is
//! stored below HTTP (active, its FE configured) with its panel user; the
//! panel login and password change go through HTTP.

#[path = "../process.rs"]
mod process;

use domain::{PartitaIva, ServiceStatus};
use persistence::service::NewService;
use persistence::{Database, DatabaseSettings};
use process::{Server, build_attiva, env_number, percentile};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One invoice of about 5 KB, sent by the service (`piva`) to a client.
fn invoice_xml(piva: &str, number: u64) -> String {
    let line = |n: u32| {
        format!(
            "<DettaglioLinee><NumeroLinea>{n}</NumeroLinea><CodiceArticolo><CodiceTipo>INTERNO</CodiceTipo>\
             <CodiceValore>ART-{n:04}</CodiceValore></CodiceArticolo><Descrizione>Servizio di consulenza \
             amministrativa e contabile, mese di riferimento {n}</Descrizione><Quantita>1.00</Quantita>\
             <UnitaMisura>NR</UnitaMisura><PrezzoUnitario>100.00</PrezzoUnitario><PrezzoTotale>100.00</PrezzoTotale>\
             <AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>"
        )
    };
    let lines: String = (1..=6).map(line).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<p:FatturaElettronica versione=\"FPR12\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" \
xmlns:p=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
<FatturaElettronicaHeader><DatiTrasmissione><IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{piva}</IdCodice></IdTrasmittente>\
<ProgressivoInvio>{number:05}</ProgressivoInvio><FormatoTrasmissione>FPR12</FormatoTrasmissione><CodiceDestinatario>ABC1234</CodiceDestinatario></DatiTrasmissione>\
<CedentePrestatore><DatiAnagrafici><IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{piva}</IdCodice></IdFiscaleIVA>\
<Anagrafica><Denominazione>Bench S.r.l.</Denominazione></Anagrafica><RegimeFiscale>RF01</RegimeFiscale></DatiAnagrafici>\
<Sede><Indirizzo>Via Roma</Indirizzo><NumeroCivico>1</NumeroCivico><CAP>20121</CAP><Comune>Milano</Comune><Provincia>MI</Provincia><Nazione>IT</Nazione></Sede></CedentePrestatore>\
<CessionarioCommittente><DatiAnagrafici><IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>0{:010}</IdCodice></IdFiscaleIVA>\
<Anagrafica><Denominazione>Cliente {} S.p.A.</Denominazione></Anagrafica></DatiAnagrafici>\
<Sede><Indirizzo>Corso Italia</Indirizzo><NumeroCivico>10</NumeroCivico><CAP>10121</CAP><Comune>Torino</Comune><Provincia>TO</Provincia><Nazione>IT</Nazione></Sede></CessionarioCommittente>\
</FatturaElettronicaHeader><FatturaElettronicaBody><DatiGenerali><DatiGeneraliDocumento><TipoDocumento>TD01</TipoDocumento>\
<Divisa>EUR</Divisa><Data>2024-03-15</Data><Numero>B-{number}</Numero><ImportoTotaleDocumento>732.00</ImportoTotaleDocumento>\
</DatiGeneraliDocumento></DatiGenerali><DatiBeniServizi>{lines}<DatiRiepilogo><AliquotaIVA>22.00</AliquotaIVA>\
<ImponibileImporto>600.00</ImponibileImporto><Imposta>132.00</Imposta><EsigibilitaIVA>I</EsigibilitaIVA></DatiRiepilogo></DatiBeniServizi>\
<DatiPagamento><CondizioniPagamento>TP02</CondizioniPagamento><DettaglioPagamento><ModalitaPagamento>MP05</ModalitaPagamento>\
<DataScadenzaPagamento>2024-04-30</DataScadenzaPagamento><ImportoPagamento>732.00</ImportoPagamento>\
<IBAN>IT60X0542811101000000123456</IBAN></DettaglioPagamento></DatiPagamento></FatturaElettronicaBody></p:FatturaElettronica>",
        number % 1000,
        number % 1000,
    )
}

/// A zip of `count` invoices numbered from `first`, stored (no
/// compression), in a sub-folder.
fn zip_of(piva: &str, first: u64, count: u64) -> anyhow::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for number in first..first + count {
        writer.start_file(format!("fatture/IT{piva}_{number:05}.xml"), options)?;
        writer.write_all(invoice_xml(piva, number).as_bytes())?;
    }
    Ok(writer.finish()?.into_inner())
}

/// The panel token of an active service whose holder is `piva`.
async fn panel_token(
    client: &reqwest::Client,
    base: &str,
    store: &Database,
    piva: &str,
) -> anyhow::Result<String> {
    let signup: Value = client
        .post(format!("{base}/v1/customers"))
        .json(&json!({
            "email": "invoices-bench@example.com", "password": "tramonto-sul-lago-di-como-42",
            "holder": {"kind": "persona_giuridica", "denominazione": "Bench S.r.l.",
                "codice_fiscale": piva, "partita_iva": piva,
                "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121",
                    "comune": "Milano", "provincia": "MI", "nazione": "IT"}}
        }))
        .send()
        .await?
        .json()
        .await?;
    let customer_id = signup["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| anyhow::anyhow!("sign-up failed: {signup}"))?;
    let service = store
        .services()
        .insert_service(&NewService {
            id: Uuid::new_v4(),
            customer_id,
            product_code: "fe".into(),
            status: ServiceStatus::Active,
            holder_tax_id: piva.to_owned(),
            codice_destinatario: "KRRH6B9".into(),
            expires_on: chrono::NaiveDate::from_ymd_opt(2030, 12, 31)
                .unwrap_or(chrono::NaiveDate::MAX),
        })
        .await?;
    let issued = api::panel::credentials::issue_panel_credentials(
        store,
        &service,
        Duration::from_secs(3600),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let login: Value = client
        .post(format!("{base}/v1/auth/panel/login"))
        .json(&json!({"username": issued.username, "password": issued.temporary_password}))
        .send()
        .await?
        .json()
        .await?;
    let restricted = login["access_token"].as_str().unwrap_or_default();
    let chosen = "la mia nuova password del pannello";
    let changed: Value = client
        .post(format!("{base}/v1/panel/password"))
        .bearer_auth(restricted)
        .json(&json!({"current_password": issued.temporary_password,
            "new_password": chosen, "new_password_confirmation": chosen}))
        .send()
        .await?
        .json()
        .await?;
    changed["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("password change failed: {changed}"))
}

async fn bench_database(label: &str, url: &str) -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 10);
    let invoices = env_number("BENCH_INVOICES", 10_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 8) as usize;
    let dir = tempfile::tempdir()?;
    let server = Server::start(url, &dir.path().join("mail")).await?;
    let outcome = run(label, &server, url, seconds, invoices, concurrency).await;
    server.stop();
    outcome
}

async fn run(
    label: &str,
    server: &Server,
    url: &str,
    seconds: u64,
    invoices: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let store = Database::connect(&DatabaseSettings {
        url: url.to_owned(),
        max_connections: 1,
        busy_timeout: Duration::from_secs(30),
        read_connections: 0,
    })
    .await?;
    let piva = PartitaIva::with_check_digit("0123456789")
        .map(|p| p.as_str().to_owned())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = panel_token(&client, &base, &store, &piva).await?;
    store.close().await;

    let archive = zip_of(&piva, 1, invoices)?;
    let before = server.peak_mib();
    let started = Instant::now();
    let response = client
        .post(format!("{base}/v1/panel/invoices/import"))
        .bearer_auth(&token)
        .header("content-type", "application/zip")
        .body(archive.clone())
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let count = answer["imported"].as_u64().unwrap_or(0);
    anyhow::ensure!(
        status.is_success() && count == invoices,
        "zip import: {status}, {count} of {invoices} imported"
    );
    println!(
        "invoices {label}: zip of {invoices} files ({:.1} MB, stored) in {elapsed:.1} s: {:.0} invoices/s; server peak memory {:.0} MiB (before the zip: {before:.0} MiB)",
        archive.len() as f64 / 1e6,
        count as f64 / elapsed,
        server.peak_mib(),
    );

    // Single files, each a new invoice, `concurrency` clients at once.
    let next = Arc::new(AtomicU64::new(invoices + 1));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, token, piva, next) = (
                client.clone(),
                base.clone(),
                token.clone(),
                piva.clone(),
                Arc::clone(&next),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let body = invoice_xml(&piva, next.fetch_add(1, Ordering::Relaxed));
                    let sent = Instant::now();
                    let response = client
                        .post(format!("{base}/v1/panel/invoices/import"))
                        .bearer_auth(&token)
                        .header("content-type", "application/xml")
                        .body(body)
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "invoices {label}: single-file imports, concurrency {concurrency}: {:.0} imports/s  p50 {:.2} ms  p99 {:.2} ms  errors {errors}; server peak memory {:.0} MiB",
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        server.peak_mib(),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; its figures mean nothing (use --release)");
    }
    build_attiva()?;
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/invoices.db?mode=rwc", dir.path().display());
    bench_database("sqlite", &sqlite).await?;
    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await;
    match admin {
        Err(_) => println!("invoices postgres: skipped (unreachable)"),
        Ok(admin) => {
            use sea_orm::ConnectionTrait;
            let name = format!("attiva_invoices_{}", Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
            let outcome = bench_database("postgres", &url).await;
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            outcome?;
        }
    }
    println!(
        "targets (issue 11): a zip of 10,000 invoices at >= 1,000 invoices/s on both databases; server peak memory < 150 MiB during the 50 MB zip"
    );
    Ok(())
}
