//! The import use case (`POST /v1/panel/invoices/import`): a body of
//! FatturaPA files in, each file stored whole or refused whole.
//!
//! - One XML file (`application/xml`, `text/xml`) or one signed file
//!   (`application/pkcs7-mime`, a `.xml.p7m`, DER or base64) is read into
//!   memory, never more than the SdI's 5 MB plus one byte.
//! - A zip (`application/zip`) is streamed to a temporary file, never more
//!   than `ATTIVA_IMPORT_MAX_ZIP_BYTES`; its central directory is read
//!   first, and an archive listing more than `ATTIVA_IMPORT_MAX_ZIP_ENTRIES`
//!   entries or declaring more than `ATTIVA_IMPORT_MAX_UNCOMPRESSED_BYTES`
//!   uncompressed is refused before anything is inflated. Then a blocking
//!   thread reads one entry at a time — never more than
//!   min(its declared size, 5 MB) + 1 bytes, so an entry that lies about
//!   its size is caught — parses it and hands it over a channel of one to
//!   the request, which stores a few at once, each in its own transaction,
//!   and reports them in the archive's order: at most a few entries are in
//!   memory at once, whatever the size of the archive.
//!
//! Each file is parsed by `domain::fatturapa::parse` (a `.p7m` first
//! unwrapped by `unwrap_p7m`, its signature not verified), then every body
//! must name the service (its holder's Partita IVA or Codice Fiscale) as
//! seller or buyer, or the whole file is refused; then it is stored in one
//! transaction (`db.invoices().import_file`).

use super::dto::{FileOutcomeDto, ImportedFileDto, ImportedInvoiceDto, InvoiceOutcomeDto};
use super::errors::{InvoiceError, code_of};
use crate::config::settings::ImportSettings;
use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use domain::fatturapa::{self, Direction, ImportCode, ImportError, Invoice, MAX_FILE_BYTES};
use futures_util::StreamExt;
use persistence::Database;
use persistence::invoice::{NewInvoiceFile, Stored};
use std::io::{Read, Seek, Write};
use std::time::Duration;
use uuid::Uuid;

pub const XML: &str = "application/xml";

/// Files of one zip stored at the same time: with the entry being parsed
/// and the one waiting in the channel, at most this many plus two files
/// (each at most 5 MB) are in memory at once.
const STORED_AT_ONCE: usize = 4;

/// Times a file's transaction is tried when the database fails it for a
/// passing reason (a deadlock, a lost connection).
const STORE_ATTEMPTS: u32 = 3;
pub const P7M: &str = "application/pkcs7-mime";

/// What the body holds, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Xml,
    P7m,
    Zip,
}

impl BodyKind {
    pub fn of(req: &HttpRequest) -> Result<BodyKind, InvoiceError> {
        let sent = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let essence = sent
            .as_deref()
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/xml" | "text/xml") => Ok(BodyKind::Xml),
            Some("application/pkcs7-mime") => Ok(BodyKind::P7m),
            Some("application/zip" | "application/x-zip-compressed") => Ok(BodyKind::Zip),
            _ => Err(InvoiceError::UnsupportedMediaType(sent)),
        }
    }
}

/// The service importing, and who.
#[derive(Debug, Clone)]
pub struct Importer {
    pub db: Database,
    pub service: Uuid,
    pub by: Uuid,
    /// The holder's Partita IVA and Codice Fiscale.
    pub tax_ids: Vec<String>,
}

/// One file read: its bytes as they arrived and what parsing made of them.
struct ReadFile {
    name: Option<String>,
    content_type: &'static str,
    original: Vec<u8>,
    signed: bool,
    parsed: Result<Vec<Invoice>, ImportError>,
}

/// What a zip entry comes to before it is stored.
enum Entry {
    File(ReadFile),
    Rejected {
        name: String,
        signed: bool,
        error: ImportError,
        code: ErrorCode,
    },
    Skipped {
        name: String,
        reason: &'static str,
    },
}

/// Parses `original` (a `.p7m` unwrapped first): CPU work, for a blocking
/// thread.
fn read_file(name: Option<String>, signed: bool, original: Vec<u8>) -> ReadFile {
    let parsed = if signed {
        fatturapa::unwrap_p7m(&original).and_then(|xml| fatturapa::parse(&xml))
    } else {
        fatturapa::parse(&original)
    };
    ReadFile {
        name,
        content_type: if signed { P7M } else { XML },
        original,
        signed,
        parsed,
    }
}

fn rejected(
    name: Option<String>,
    signed: bool,
    code: ErrorCode,
    reason: String,
    path: Option<String>,
) -> ImportedFileDto {
    ImportedFileDto {
        name,
        status: FileOutcomeDto::Rejected,
        signature_verified: signed.then_some(false),
        invoices: Vec::new(),
        code: Some(code.as_str().to_owned()),
        reason: Some(reason),
        path,
    }
}

fn refused(name: Option<String>, signed: bool, error: ImportError) -> ImportedFileDto {
    rejected(name, signed, code_of(error.code), error.reason, error.path)
}

/// Reads the body chunk by chunk into `sink`, within the body deadline and
/// at most `limit` bytes (`too_large` past it; the connection is then
/// closed, the rest of the body unread).
async fn read_body(
    payload: &mut web::Payload,
    limit: u64,
    deadline: Duration,
    too_large: impl Fn() -> ApiError,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), ApiError> {
    let read = async {
        let mut total: u64 = 0;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(ErrorCode::UnreadableBody, e.to_string()))?;
            total = total.saturating_add(chunk.len() as u64);
            if total > limit {
                return Err(too_large().closing_connection());
            }
            sink(&chunk).map_err(ApiError::internal)?;
        }
        Ok(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} s",
                deadline.as_secs()
            ),
        )
        .closing_connection()),
    }
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl Importer {
    /// Stores one read file: refused whole when it did not parse or when a
    /// body is not the service's, else all its bodies in one transaction.
    async fn store(
        &self,
        file: ReadFile,
    ) -> Result<Result<ImportedFileDto, ImportError>, ApiError> {
        let invoices = match file.parsed {
            Ok(invoices) => invoices,
            Err(error) => return Ok(Err(error)),
        };
        let tax_ids: Vec<&str> = self.tax_ids.iter().map(String::as_str).collect();
        let mut sides: Vec<(Direction, &Invoice)> = Vec::with_capacity(invoices.len());
        for (n, invoice) in invoices.iter().enumerate() {
            match invoice.direction_for(&tax_ids) {
                Some(direction) => sides.push((direction, invoice)),
                None => {
                    let error = ImportError::new(
                        ImportCode::InvoiceNotForThisService,
                        format!(
                            "invoice {} of {} (body {}): neither its seller nor its buyer is this service's holder",
                            invoice.numero,
                            invoice.data,
                            n + 1
                        ),
                    );
                    return Ok(Err(error));
                }
            }
        }
        // A transaction the database fails for a passing reason (a lost
        // connection, a lock or serialization failure) is tried again. Two
        // lotti holding the same invoices in other orders do not deadlock:
        // the store writes a file's bodies in the order of their key.
        let mut attempt = 1;
        let stored = loop {
            let outcome = self
                .db
                .invoices()
                .import_file(
                    self.service,
                    self.by,
                    NewInvoiceFile {
                        content_type: file.content_type,
                        file_name: file.name.as_deref(),
                        content: &file.original,
                    },
                    &sides,
                )
                .await;
            match outcome {
                Err(error) if error.is_transient() && attempt < STORE_ATTEMPTS => {
                    tracing::warn!(service_id = %self.service, attempt, error = %error, "storing an invoice file again");
                    attempt += 1;
                }
                outcome => break outcome?,
            }
        };
        let results: Vec<ImportedInvoiceDto> = sides
            .iter()
            .zip(&stored)
            .map(|((direction, invoice), stored)| {
                let (status, id) = match *stored {
                    Stored::Imported(id) => (InvoiceOutcomeDto::Imported, id),
                    Stored::AlreadyImported(id) => (InvoiceOutcomeDto::AlreadyImported, id),
                };
                ImportedInvoiceDto {
                    status,
                    id,
                    direction: (*direction).into(),
                    tipo_documento: invoice.tipo_documento.as_str().to_owned(),
                    numero: invoice.numero.clone(),
                    data: invoice.data,
                }
            })
            .collect();
        let new = results
            .iter()
            .filter(|r| r.status == InvoiceOutcomeDto::Imported)
            .count();
        if new > 0 {
            tracing::info!(service_id = %self.service, invoices = new, "invoices imported");
        }
        Ok(Ok(ImportedFileDto {
            name: file.name,
            status: if new > 0 {
                FileOutcomeDto::Imported
            } else {
                FileOutcomeDto::AlreadyImported
            },
            signature_verified: file.signed.then_some(false),
            invoices: results,
            code: None,
            reason: None,
            path: None,
        }))
    }

    /// One XML or signed file as the body: read (at most 5 MB), parsed,
    /// stored. A refused file is the answer's problem (422, or 413
    /// `file_too_large`).
    pub async fn import_single(
        &self,
        req: &HttpRequest,
        mut payload: web::Payload,
        signed: bool,
        deadline: Duration,
    ) -> Result<ImportedFileDto, ApiError> {
        let limit = MAX_FILE_BYTES as u64;
        let too_large = || {
            ApiError::from(InvoiceError::Rejected(ImportError::new(
                ImportCode::FileTooLarge,
                format!("an invoice file may have at most {MAX_FILE_BYTES} bytes"),
            )))
        };
        if declared_length(req).is_some_and(|len| len > limit) {
            return Err(too_large().closing_connection());
        }
        let mut bytes = Vec::new();
        read_body(&mut payload, limit, deadline, too_large, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        let file = web::block(move || read_file(None, signed, bytes))
            .await
            .map_err(ApiError::internal)?;
        self.store(file)
            .await?
            .map_err(|error| InvoiceError::Rejected(error).into())
    }

    /// What one zip entry comes to: stored, or refused or skipped as read.
    async fn settle(&self, entry: Entry) -> Result<ImportedFileDto, ApiError> {
        Ok(match entry {
            Entry::File(file) => {
                let (name, signed) = (file.name.clone(), file.signed);
                self.store(file)
                    .await?
                    .unwrap_or_else(|error| refused(name, signed, error))
            }
            Entry::Rejected {
                name,
                signed,
                error,
                code,
            } => rejected(Some(name), signed, code, error.reason, error.path),
            Entry::Skipped { name, reason } => ImportedFileDto {
                name: Some(name),
                status: FileOutcomeDto::Skipped,
                signature_verified: None,
                invoices: Vec::new(),
                code: None,
                reason: Some(reason.to_owned()),
                path: None,
            },
        })
    }

    /// A zip as the body: streamed to a temporary file, its directory
    /// checked against the limits, then read entry by entry.
    pub async fn import_zip(
        &self,
        req: &HttpRequest,
        mut payload: web::Payload,
        limits: ImportSettings,
        deadline: Duration,
    ) -> Result<Vec<ImportedFileDto>, ApiError> {
        let too_large = || {
            ApiError::from(InvoiceError::ZipTooLarge(format!(
                "a zip of invoices may have at most {} bytes",
                limits.max_zip_bytes
            )))
        };
        if declared_length(req).is_some_and(|len| len > limits.max_zip_bytes) {
            return Err(too_large().closing_connection());
        }
        let mut file = tempfile::tempfile().map_err(ApiError::internal)?;
        // Chunks of a few kilobytes into the page cache: written in place
        // rather than handed to a thread each.
        read_body(
            &mut payload,
            limits.max_zip_bytes,
            deadline,
            too_large,
            |chunk| file.write_all(chunk),
        )
        .await?;
        let archive = web::block(move || open_zip(file, limits))
            .await
            .map_err(ApiError::internal)??;

        let (sender, receiver) = tokio::sync::mpsc::channel::<Entry>(1);
        let reader = tokio::task::spawn_blocking(move || read_entries(archive, &sender));
        let entries = futures_util::stream::unfold(receiver, |mut receiver| async {
            receiver.recv().await.map(|entry| (entry, receiver))
        });
        // A few files are stored at once, each in its own transaction (a
        // file's round trips overlap the next one's), and answered in the
        // archive's order.
        let files: Vec<ImportedFileDto> = entries
            .map(|entry| self.settle(entry))
            .buffered(STORED_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        reader.await.map_err(ApiError::internal)?;
        Ok(files)
    }
}

/// Opens the archive (its central directory) and checks it against the
/// limits before anything is inflated.
fn open_zip(
    mut file: std::fs::File,
    limits: ImportSettings,
) -> Result<zip::ZipArchive<std::fs::File>, ApiError> {
    file.rewind().map_err(ApiError::internal)?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        ApiError::from(InvoiceError::MalformedZip(format!(
            "the body is not a zip archive that can be read: {e}"
        )))
    })?;
    let entries = archive.len() as u64;
    if entries > limits.max_zip_entries {
        return Err(InvoiceError::ZipTooLarge(format!(
            "the zip lists {entries} entries; at most {} are accepted",
            limits.max_zip_entries
        ))
        .into());
    }
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| {
            ApiError::from(InvoiceError::MalformedZip(format!(
                "entry {} of the zip cannot be read: {e}",
                index + 1
            )))
        })?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_uncompressed_bytes {
            return Err(InvoiceError::ZipTooLarge(format!(
                "the zip's entries declare more than {} bytes uncompressed",
                limits.max_uncompressed_bytes
            ))
            .into());
        }
    }
    Ok(archive)
}

/// An entry that cannot be read (encrypted, an unsupported compression, a
/// broken stream, more bytes than it declares).
fn unreadable(name: String, signed: bool, reason: String) -> Entry {
    Entry::Rejected {
        name,
        signed,
        error: ImportError::new(ImportCode::MalformedXml, reason),
        code: ErrorCode::MalformedZip,
    }
}

/// The longest entry name kept (stored with the file and shown in the
/// report): a zip may name an entry with up to 65,535 bytes.
const MAX_NAME_CHARS: usize = 255;

/// An entry's name as it is stored and shown: control characters (NUL
/// included, which PostgreSQL cannot store) replaced by U+FFFD, and at
/// most [`MAX_NAME_CHARS`], the end kept (the file's own name).
fn shown_name(raw: &str) -> String {
    let clean: Vec<char> = raw
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let skip = clean.len().saturating_sub(MAX_NAME_CHARS);
    clean[skip..].iter().collect()
}

/// One entry: skipped, refused, or read and parsed.
fn read_entry(archive: &mut zip::ZipArchive<std::fs::File>, index: usize) -> Option<Entry> {
    let listed = match archive.name_for_index(index) {
        Some(Ok(name)) => name.into_owned(),
        _ => format!("entry {}", index + 1),
    };
    let mut entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(e) => {
            return Some(unreadable(
                listed,
                false,
                format!("the entry cannot be read: {e}"),
            ));
        }
    };
    if entry.is_dir() {
        return None;
    }
    let name = shown_name(
        &entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned()),
    );
    let base = name.rsplit(['/', '\\']).next().unwrap_or(&name);
    let lower = base.to_ascii_lowercase();
    let signed = if lower.ends_with(".p7m") {
        true
    } else if lower.ends_with(".xml") {
        false
    } else {
        return Some(Entry::Skipped {
            name,
            reason: "not an invoice file (.xml or .p7m)",
        });
    };
    if base.to_ascii_uppercase().contains("_MT_") {
        return Some(Entry::Skipped {
            name,
            reason: "an SdI metadata file (_MT_), not an invoice",
        });
    }
    let declared = entry.size();
    let max = MAX_FILE_BYTES as u64;
    if declared > max {
        return Some(Entry::Rejected {
            signed,
            error: ImportError::new(
                ImportCode::FileTooLarge,
                format!(
                    "the entry declares {declared} bytes; an invoice file may have at most {max}"
                ),
            ),
            code: ErrorCode::FileTooLarge,
            name,
        });
    }
    // Never more than it declares (and at most 5 MB) plus one byte: an
    // entry holding more than it says is caught, not inflated.
    let cap = declared.min(max) + 1;
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    if let Err(e) = (&mut entry).take(cap).read_to_end(&mut bytes) {
        return Some(unreadable(
            name,
            signed,
            format!("the entry cannot be inflated: {e}"),
        ));
    }
    if bytes.len() as u64 > declared {
        return Some(unreadable(
            name,
            signed,
            format!("the entry holds more than the {declared} bytes it declares"),
        ));
    }
    drop(entry);
    Some(Entry::File(read_file(Some(name), signed, bytes)))
}

/// Reads every entry in turn and hands it to the request; stops when the
/// request is gone.
fn read_entries(
    mut archive: zip::ZipArchive<std::fs::File>,
    sender: &tokio::sync::mpsc::Sender<Entry>,
) {
    for index in 0..archive.len() {
        if let Some(entry) = read_entry(&mut archive, index)
            && sender.blocking_send(entry).is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    /// A zip of one deflated entry of `size` zeros whose headers (local and
    /// central) are then rewritten to declare `declared` bytes: what a
    /// hostile archive does to slip past a check of declared sizes.
    fn lying_zip(size: usize, declared: u32) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("bomb.xml", options).expect("entry");
        writer.write_all(&vec![0u8; size]).expect("content");
        let mut bytes = writer.finish().expect("zip").into_inner();
        let patch = |bytes: &mut Vec<u8>, signature: &[u8; 4], offset: usize| {
            let at = bytes
                .windows(4)
                .position(|w| w == signature)
                .expect("header");
            bytes[at + offset..at + offset + 4].copy_from_slice(&declared.to_le_bytes());
        };
        // Local file header: uncompressed size at 22; central directory
        // header: at 24.
        patch(&mut bytes, b"PK\x03\x04", 22);
        patch(&mut bytes, b"PK\x01\x02", 24);
        bytes
    }

    fn archive(bytes: &[u8]) -> zip::ZipArchive<std::fs::File> {
        let mut file = tempfile::tempfile().expect("temporary file");
        file.write_all(bytes).expect("written");
        open_zip(file, ImportSettings::default()).expect("opens")
    }

    #[test]
    fn an_entry_holding_more_than_it_declares_is_refused_unread() {
        let mut archive = archive(&lying_zip(50 * 1024 * 1024, 100));
        match read_entry(&mut archive, 0) {
            Some(Entry::Rejected { error, code, .. }) => {
                assert_eq!(code, ErrorCode::MalformedZip);
                // Caught by the zip crate's own check of the declared size
                // or by ours (we read at most declared + 1 bytes).
                assert!(
                    error.reason.contains("larger than its declared")
                        || error.reason.contains("more than the 100 bytes"),
                    "{}",
                    error.reason
                );
            }
            Some(Entry::File(file)) => panic!("read {} bytes", file.original.len()),
            Some(Entry::Skipped { .. }) | None => panic!("not read at all"),
        }
    }

    #[test]
    fn entry_names_are_shown_without_controls_and_bounded() {
        assert_eq!(shown_name("fatture/IT01_1.xml"), "fatture/IT01_1.xml");
        assert_eq!(shown_name("a\0b\nc.xml"), "a\u{fffd}b\u{fffd}c.xml");
        let long = format!("{}/IT01_1.xml", "d".repeat(70_000));
        let shown = shown_name(&long);
        assert_eq!(shown.chars().count(), MAX_NAME_CHARS);
        assert!(shown.ends_with("/IT01_1.xml"));
    }

    #[test]
    fn an_honest_entry_is_read() {
        let mut archive = archive(&lying_zip(100, 100));
        match read_entry(&mut archive, 0) {
            Some(Entry::File(file)) => {
                assert_eq!(file.original, vec![0u8; 100]);
                assert_eq!(
                    file.parsed.expect_err("zeros are no invoice").code,
                    ImportCode::MalformedXml
                );
            }
            _ => panic!("not read"),
        }
    }
}
