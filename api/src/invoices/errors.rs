//! How the invoices' operations fail. Each takes
//! `setup::gate::ConfiguredPanel`: 403 `setup_required` until the FE
//! configuration is complete.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use domain::fatturapa::{ImportCode, ImportError};
use uuid::Uuid;

/// The API's code of a refused file: the domain decides it.
pub fn code_of(code: ImportCode) -> ErrorCode {
    match code {
        ImportCode::MalformedXml => ErrorCode::MalformedXml,
        ImportCode::NotFatturapa => ErrorCode::NotFatturapa,
        ImportCode::UnsupportedVersion => ErrorCode::UnsupportedVersion,
        ImportCode::ForbiddenDtd => ErrorCode::ForbiddenDtd,
        ImportCode::MissingField => ErrorCode::MissingField,
        ImportCode::InvalidField => ErrorCode::InvalidField,
        ImportCode::InvalidSignedFile => ErrorCode::InvalidSignedFile,
        ImportCode::InvoiceNotForThisService => ErrorCode::InvoiceNotForThisService,
        ImportCode::FileTooLarge => ErrorCode::FileTooLarge,
    }
}

#[derive(Debug)]
pub enum InvoiceError {
    /// Not an invoice of this service (another service's answers the same).
    NotFound(Uuid),
    /// The invoice has no attachment with that number.
    AttachmentNotFound(Uuid, u32),
    /// A file sent alone was refused: 422 with its code, 413 when it is
    /// over the 5 MB of one invoice file.
    Rejected(ImportError),
    /// The body is not one of the import's content types.
    UnsupportedMediaType(Option<String>),
    /// A zip over a limit (its bytes, its entries, what it declares
    /// uncompressed), refused before anything is inflated.
    ZipTooLarge(String),
    /// Not a zip archive (no central directory that can be read).
    MalformedZip(String),
}

impl From<InvoiceError> for ApiError {
    fn from(error: InvoiceError) -> Self {
        match error {
            InvoiceError::NotFound(id) => {
                ApiError::not_found(ErrorCode::InvoiceNotFound, format!("no invoice {id}"))
            }
            InvoiceError::AttachmentNotFound(id, n) => ApiError::not_found(
                ErrorCode::AttachmentNotFound,
                format!("invoice {id} has no attachment {n}"),
            ),
            InvoiceError::Rejected(refused) => {
                let status = if refused.code == ImportCode::FileTooLarge {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let detail = match &refused.path {
                    Some(path) => format!("{} (at {path})", refused.reason),
                    None => refused.reason.clone(),
                };
                ApiError::new(status, code_of(refused.code), detail)
            }
            InvoiceError::UnsupportedMediaType(sent) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                format!(
                    "expected Content-Type: application/xml, text/xml, application/pkcs7-mime or application/zip{}",
                    sent.map(|ct| format!(", got {ct}")).unwrap_or_default()
                ),
            ),
            InvoiceError::ZipTooLarge(detail) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::ZipTooLarge,
                detail,
            ),
            InvoiceError::MalformedZip(detail) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::MalformedZip,
                detail,
            ),
        }
    }
}
