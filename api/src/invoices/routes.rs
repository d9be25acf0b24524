//! The invoices of the panel user's service: `POST
//! /v1/panel/invoices/import`, `GET /v1/panel/invoices`, `GET
//! /v1/panel/invoices/{id}` with its `file` and `attachments/{n}`.

use super::TAG;
use super::dto::{ImportReport, InvoiceDto, InvoiceSummaryDto};
use super::errors::InvoiceError;
use super::import::{BodyKind, Importer, XML};
use crate::config::settings::ImportSettings;
use crate::config::state::BodyDeadline;
use crate::http::codes::ErrorCode;
use crate::http::problem::{ApiError, Problem};
use crate::http::query::{Query, QueryParams};
use crate::setup::gate::ConfiguredPanel;
use crate::shared::pagination::{self, PageQuery};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use domain::contact::name_key;
use domain::fatturapa::Direction;
use domain::wizard::TipoDocumento;
use persistence::Database;
use persistence::invoice::{InvoiceFilter, InvoiceSummary};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The bytes of an invoice file: FatturaPA XML, a signed `.xml.p7m` (DER
/// or base64), or a zip of such files.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct InvoiceFileBytes(pub Vec<u8>);

fn tipo_documento_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(TipoDocumento::all().map(TipoDocumento::as_str)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceListQuery {
    /// `sent` (the service is the seller) or `received` (the buyer).
    pub direction: Option<super::dto::DirectionDto>,
    /// Only invoices dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Only invoices dated on or before this day.
    pub to: Option<NaiveDate>,
    #[param(schema_with = tipo_documento_schema)]
    pub tipo_documento: Option<String>,
    /// Only invoices matched to this contact.
    pub contact_id: Option<Uuid>,
    /// `true`: only invoices matched to no contact; `false`: only matched
    /// ones.
    pub unmatched: Option<bool>,
    /// A prefix of the invoice number or of the counterpart's name,
    /// whatever its case.
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page. It names a position in the
    /// list's order (the date as days since 0001-01-01 and the id of the
    /// last invoice seen), so any value of this pattern is a valid cursor.
    #[param(
        max_length = 50,
        pattern = r"^[0-9]{1,7}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
}

impl QueryParams for InvoiceListQuery {
    fn expected(name: &str) -> Option<&'static str> {
        match name {
            "direction" => Some("direction is sent or received"),
            "from" | "to" => Some("a date, YYYY-MM-DD"),
            "contact_id" => Some("contact_id is a contact's id (a UUID)"),
            "unmatched" => Some("unmatched is true or false"),
            other => PageQuery::expected(other),
        }
    }
}

impl InvoiceListQuery {
    /// The position after which the page starts: (data, id).
    fn after(&self) -> Result<Option<(NaiveDate, Uuid)>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let (days, id) = pagination::cursor_parts(cursor)?;
        let data = days
            .parse()
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(pagination::invalid_cursor)?;
        Ok(Some((data, id)))
    }

    fn filter(&self) -> Result<InvoiceFilter, ApiError> {
        let tipo_documento = match self.tipo_documento.as_deref() {
            None => None,
            Some(text) => Some(TipoDocumento::parse(text).ok_or_else(|| {
                ApiError::field(
                    "/tipo_documento",
                    ErrorCode::InvalidValue,
                    "tipo_documento is a FatturaPA TipoDocumento, TD01 to TD29",
                )
            })?),
        };
        let prefix = match self.q.as_deref().map(str::trim) {
            None => None,
            Some(q) if !q.is_empty() && q.chars().count() <= 100 => Some(name_key(q)),
            Some(_) => {
                return Err(ApiError::field(
                    "/q",
                    ErrorCode::InvalidLength,
                    "1 to 100 characters",
                ));
            }
        };
        Ok(InvoiceFilter {
            direction: self.direction.map(Direction::from),
            from: self.from,
            to: self.to,
            tipo_documento,
            contact_id: self.contact_id,
            unmatched: self.unmatched,
            prefix,
        })
    }
}

/// The cursor after `summary`: its place in the list's order.
fn cursor(summary: &InvoiceSummary) -> String {
    use chrono::Datelike;
    format!("{}_{}", summary.data.num_days_from_ce(), summary.id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceSummaryDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(nullable)]
    pub next_cursor: Option<String>,
}

/// A file name safe in `Content-Disposition`: letters, digits, `.`, `-`
/// and `_` kept, anything else `_`, at most 100 characters, never empty
/// or a dot file.
fn safe_file_name(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut safe: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    safe = safe.trim_start_matches('.').to_owned();
    if safe.is_empty() {
        fallback.to_owned()
    } else {
        safe
    }
}

/// A download: the bytes, their content type, a sanitised file name.
fn download(content_type: &str, file_name: &str, content: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    ));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        response.insert_header((header::CONTENT_DISPOSITION, value));
    }
    response.body(content)
}

/// The content type of an attachment by its FormatoAttachment, when it is
/// a known one; else bytes.
fn attachment_content_type(formato: Option<&str>, nome: &str) -> &'static str {
    let by_name = nome.rsplit_once('.').map(|(_, ext)| ext);
    let format = formato
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .or(by_name)
        .unwrap_or_default()
        .to_ascii_lowercase();
    match format.as_str() {
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        "txt" => "text/plain",
        "zip" => "application/zip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

/// Import invoices.
///
/// The body is one FatturaPA file (`application/xml` or `text/xml`), one
/// signed file (`application/pkcs7-mime`: a `.xml.p7m`, DER or base64;
/// the XML inside is read, the signature is not verified:
/// `signature_verified` is false), or a zip of such files
/// (`application/zip`: entries in any folder; entries not named `.xml` or
/// `.p7m`, and SdI metadata files `…_MT_…`, are skipped). Each file is
/// imported whole or refused whole: every invoice (body) in it must name
/// the service's holder as seller or buyer. An invoice imported before
/// (same direction, seller, TipoDocumento, number and year) is
/// `already_imported` with its id; nothing is created twice, even by
/// concurrent imports. A zip is answered 200 with every entry's outcome;
/// a file sent alone that is refused is answered with its problem.
#[utoipa::path(
    operation_id = "importInvoices",
    tag = TAG,
    security(("panel" = [])),
    request_body(
        description = "A FatturaPA XML file, a signed .xml.p7m, or a zip of them",
        content(
            (InvoiceFileBytes = "application/xml"),
            (InvoiceFileBytes = "text/xml"),
            (InvoiceFileBytes = "application/pkcs7-mime"),
            (InvoiceFileBytes = "application/zip"),
        )
    ),
    responses(
        (status = 200, description = "Nothing new (every invoice was imported before), or a zip: what became of every file", body = ImportReport),
        (status = 201, description = "A file sent alone, with at least one new invoice", body = ImportReport),
        (status = 400, description = "The body could not be read (`unreadable_body`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive in time (`request_timeout`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A file sent alone over 5 MB (`file_too_large`), or a zip over the server's limits on its size, its entries or what they declare uncompressed (`zip_too_large`), refused before anything is inflated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not one of the four content types (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A file sent alone was refused: `malformed_xml`, `not_fatturapa`, `unsupported_version` (FatturaPA 1.2.x only), `forbidden_dtd` (any DOCTYPE), `missing_field`, `invalid_field`, `invalid_signed_file`, `invoice_not_for_this_service`; or the body is not a zip that can be read (`malformed_zip`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/panel/invoices/import")]
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    db: web::Data<Database>,
    limits: web::Data<ImportSettings>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let kind = BodyKind::of(&req)?;
    let deadline = req
        .app_data::<BodyDeadline>()
        .map_or(std::time::Duration::from_secs(10), |d| d.0);
    let service = panel.service.id;
    // The service's holder: the tax id the service keeps, and the Partita
    // IVA and Codice Fiscale of the order that created it when there is one
    // (a service stored without an order, as the benchmarks store theirs,
    // still imports its own invoices).
    let mut tax_ids = vec![panel.service.holder_tax_id.clone()];
    if let Some(order) = db.orders().find_order_for_service(service).await? {
        tax_ids.extend(order.holder.partita_iva.map(|p| p.as_str().to_owned()));
        tax_ids.push(order.holder.codice_fiscale.as_str().to_owned());
    }
    tax_ids.dedup();
    let importer = Importer {
        db: db.get_ref().clone(),
        service,
        by: panel.user.id,
        tax_ids,
    };
    match kind {
        BodyKind::Xml | BodyKind::P7m => {
            let stored = importer
                .import_single(&req, payload, kind == BodyKind::P7m, deadline)
                .await?;
            let created = stored
                .invoices
                .iter()
                .any(|i| i.status == super::dto::InvoiceOutcomeDto::Imported);
            let report = ImportReport::of(vec![stored]);
            Ok(if created {
                HttpResponse::Created().json(report)
            } else {
                HttpResponse::Ok().json(report)
            })
        }
        BodyKind::Zip => {
            let files = importer
                .import_zip(&req, payload, *limits.get_ref(), deadline)
                .await?;
            Ok(HttpResponse::Ok().json(ImportReport::of(files)))
        }
    }
}

/// List invoices.
///
/// The service's imported invoices, newest date first (then by id),
/// filtered; a page after the cursor neither repeats nor skips an invoice
/// when others are imported.
#[utoipa::path(
    operation_id = "listInvoices",
    tag = TAG,
    security(("panel" = [])),
    params(InvoiceListQuery),
    responses(
        (status = 200, description = "A page of invoices", body = InvoicePage),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, limit or cursor (`validation_failed`: `unknown_field`, `invalid_value`, `invalid_length`, `out_of_range`, `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/invoices")]
pub async fn list(
    query: Query<InvoiceListQuery>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = query.after()?;
    let filter = query.filter()?;
    let invoices = db
        .invoices()
        .list_invoices(panel.service.id, &filter, after.as_ref(), limit)
        .await?;
    let next_cursor = (invoices.len() as u64 == limit)
        .then(|| invoices.last().map(cursor))
        .flatten();
    Ok(HttpResponse::Ok().json(InvoicePage {
        items: invoices.iter().map(InvoiceSummaryDto::of).collect(),
        next_cursor,
    }))
}

/// Get an invoice.
///
/// Everything imported of it: parties, amounts exactly as the file wrote
/// them, the VAT summary, ritenute, bollo, casse, payments and the list
/// of its attachments.
#[utoipa::path(
    operation_id = "getInvoice",
    tag = TAG,
    security(("panel" = [])),
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice in this service (`invoice_not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/invoices/{id}")]
pub async fn get(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let record = db
        .invoices()
        .find_invoice(panel.service.id, *id)
        .await?
        .ok_or(InvoiceError::NotFound(*id))?;
    Ok(HttpResponse::Ok().json(InvoiceDto::of(&record)))
}

/// Download an invoice's file.
///
/// The file the invoice came in, byte for byte as it was imported (a
/// lotto's invoices share it): FatturaPA XML, or the signed `.p7m`.
#[utoipa::path(
    operation_id = "getInvoiceFile",
    tag = TAG,
    security(("panel" = [])),
    params(("id" = Uuid, Path, description = "Invoice id")),
    responses(
        (status = 200, description = "The file", content(
            (InvoiceFileBytes = "application/xml"),
            (InvoiceFileBytes = "application/pkcs7-mime"),
        ), headers(("Content-Disposition" = String, description = "attachment, with the file's name"))),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice in this service (`invoice_not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/invoices/{id}/file")]
pub async fn file(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let stored = db
        .invoices()
        .find_file(panel.service.id, *id)
        .await?
        .ok_or(InvoiceError::NotFound(*id))?;
    let fallback = if stored.content_type == XML {
        "fattura.xml"
    } else {
        "fattura.xml.p7m"
    };
    let name = safe_file_name(stored.file_name.as_deref().unwrap_or(fallback), fallback);
    Ok(download(&stored.content_type, &name, stored.content))
}

/// Download an attachment.
///
/// Attachment `n` (from 1, as listed on the invoice) decoded: its content
/// type follows its FormatoAttachment when it is a known one (PDF, XML,
/// TXT, ZIP, JPG, PNG, CSV), else `application/octet-stream`.
#[utoipa::path(
    operation_id = "getInvoiceAttachment",
    tag = TAG,
    security(("panel" = [])),
    params(
        ("id" = Uuid, Path, description = "Invoice id"),
        ("n" = u32, Path, minimum = 1, description = "The attachment's number, from 1"),
    ),
    responses(
        (status = 200, description = "The attachment's bytes", content(
            (InvoiceFileBytes = "application/pdf"),
            (InvoiceFileBytes = "application/xml"),
            (InvoiceFileBytes = "text/plain"),
            (InvoiceFileBytes = "text/csv"),
            (InvoiceFileBytes = "application/zip"),
            (InvoiceFileBytes = "image/jpeg"),
            (InvoiceFileBytes = "image/png"),
            (InvoiceFileBytes = "application/octet-stream"),
        ), headers(("Content-Disposition" = String, description = "attachment, with the attachment's name"))),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The FE configuration is not complete (`setup_required`), a password change is required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice in this service (`invoice_not_found`), or it has no such attachment (`attachment_not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/invoices/{id}/attachments/{n}")]
pub async fn attachment(
    path: web::Path<(Uuid, String)>,
    db: web::Data<Database>,
    panel: ConfiguredPanel,
) -> Result<HttpResponse, ApiError> {
    let (id, n) = path.into_inner();
    let service = panel.service.id;
    let Some(n) = n.parse::<u32>().ok().filter(|n| *n >= 1) else {
        // Still 404 invoice_not_found for another service's invoice.
        db.invoices()
            .find_invoice(service, id)
            .await?
            .ok_or(InvoiceError::NotFound(id))?;
        return Err(InvoiceError::AttachmentNotFound(id, 0).into());
    };
    match db.invoices().find_attachment(service, id, n).await? {
        Some(stored) => {
            let content_type =
                attachment_content_type(stored.info.formato.as_deref(), &stored.info.nome);
            let name = safe_file_name(&stored.info.nome, &format!("allegato-{n}"));
            Ok(download(content_type, &name, stored.content))
        }
        None => {
            db.invoices()
                .find_invoice(service, id)
                .await?
                .ok_or(InvoiceError::NotFound(id))?;
            Err(InvoiceError::AttachmentNotFound(id, n).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(
            safe_file_name("IT01234567890_FPA01.xml", "x"),
            "IT01234567890_FPA01.xml"
        );
        assert_eq!(
            safe_file_name("a/b/../ESEMPIO TD24.xml", "x"),
            "ESEMPIO_TD24.xml"
        );
        assert_eq!(safe_file_name("..\\evil\"\r\n.pdf", "x"), "evil_.pdf");
        assert_eq!(safe_file_name("...", "fallback"), "fallback");
        assert_eq!(safe_file_name(&"é".repeat(300), "x").len(), 100);
    }

    #[test]
    fn attachment_types_follow_the_format() {
        assert_eq!(attachment_content_type(Some("PDF"), "x"), "application/pdf");
        assert_eq!(attachment_content_type(None, "scan.PNG"), "image/png");
        assert_eq!(
            attachment_content_type(Some("EXE"), "a.pdf"),
            "application/octet-stream"
        );
        assert_eq!(
            attachment_content_type(Some("html"), "a.html"),
            "application/octet-stream"
        );
    }
}
