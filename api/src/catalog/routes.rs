//! `GET /v1/catalog/products` and `GET /v1/catalog/products/{code}`.

use super::TAG;
use super::errors::ProductError;
use super::view::{CatalogView, ProductDto, ProductListDto, Rendered};
use crate::http::problem::{ApiError, Problem};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

/// 304 when the client's If-None-Match names the current ETag.
fn respond(req: &HttpRequest, rendered: &Rendered) -> HttpResponse {
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag.as_bytes() == rendered.etag.as_bytes());
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, rendered.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    if matches {
        return response.finish();
    }
    response
        .content_type("application/json")
        .body(rendered.body.clone())
}

/// List the products on sale.
///
/// Every product of the catalog in force, with its prices by purchase
/// context, the bases an add-on is available on, its requirements and
/// bounds. Supports conditional requests: send the ETag back in
/// `If-None-Match` to get 304 while the catalog is unchanged.
#[utoipa::path(
    operation_id = "listProducts",
    tag = TAG,
    params(
        ("If-None-Match" = Option<String>, Header, description = "An ETag from a previous response"),
    ),
    responses(
        (status = 200, description = "The catalog", body = ProductListDto,
            headers(("ETag" = String, description = "Strong validator of this representation"))),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
    )
)]
#[get("/v1/catalog/products")]
pub async fn list_products(req: HttpRequest, view: web::Data<CatalogView>) -> HttpResponse {
    respond(&req, &view.list)
}

/// Get one product.
///
/// A product of the catalog in force by its code (`fe`, `fe-solo-ricezione`,
/// `incassi-pagamenti`, `documenti`, `woocommerce`, `spazio-1gb`).
#[utoipa::path(
    operation_id = "getProduct",
    tag = TAG,
    params(
        ("code" = String, Path, description = "Product code", example = "incassi-pagamenti"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from a previous response"),
    ),
    responses(
        (status = 200, description = "The product", body = ProductDto,
            headers(("ETag" = String, description = "Strong validator of this representation"))),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 404, description = "No product with this code (`product_not_found`)", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/v1/catalog/products/{code}")]
pub async fn get_product(
    req: HttpRequest,
    code: web::Path<String>,
    view: web::Data<CatalogView>,
) -> Result<HttpResponse, ApiError> {
    match view.products.get(code.as_str()) {
        Some(rendered) => Ok(respond(&req, rendered)),
        None => Err(ProductError::NotFound(code.into_inner()).into()),
    }
}
