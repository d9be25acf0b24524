//! Services a customer owns, their modules and the actions a front-end may
//! show; buying an add-on for an owned FE from the customer area
//! ("Aggiungi modulo"), the panel ("Attiva") or the Android app
//! ("Moduli aggiuntivi → Acquista").

use super::TAG;
use super::addon::{AddonPurchase, buy_addon};
use super::dto::{ServiceDto, service_dtos};
use super::errors::ServiceAccessError;
use crate::auth::{CustomerAuth, PanelSession};
use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::http::codes::ErrorCode;
use crate::http::idempotency;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::orders::dto::{OrderDto, PaymentMethodDto, order_dto};
use crate::shared::fields::{email_error, terms_error};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::Channel;
use persistence::Database;
use persistence::service::ServiceRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceDto>,
    /// Always null: a customer's services fit in one page.
    #[schema(nullable)]
    pub next_cursor: Option<String>,
}

/// List my services.
#[utoipa::path(
    operation_id = "listServices",
    tag = TAG,
    security(("customer_area" = [])),
    responses(
        (status = 200, description = "The customer's services with modules and actions", body = ServiceList),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/services")]
pub async fn list(
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let services = db.services().services_of_customer(auth.customer_id).await?;
    Ok(HttpResponse::Ok().json(ServiceList {
        items: service_dtos(&db, &view, &services).await?,
        next_cursor: None,
    }))
}

async fn my_service(
    db: &Database,
    id: Uuid,
    customer: Uuid,
) -> Result<ServiceRecord, ServiceAccessError> {
    db.services()
        .find_service(id)
        .await?
        .filter(|s| s.customer_id == customer)
        .ok_or(ServiceAccessError::NotFound(id))
}

/// Get one of my services.
#[utoipa::path(
    operation_id = "getService",
    tag = TAG,
    security(("customer_area" = [])),
    params(("id" = Uuid, Path, description = "Service id")),
    responses(
        (status = 200, description = "The service with modules and actions", body = ServiceDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/services/{id}")]
pub async fn get(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    auth: CustomerAuth,
) -> Result<HttpResponse, ApiError> {
    let service = my_service(&db, *id, auth.customer_id).await?;
    let mut dtos = service_dtos(&db, &view, std::slice::from_ref(&service)).await?;
    let dto = dtos
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("service vanished")))?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Body of the add-on purchases.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payment_method": "card", "accept_terms": true, "extend_base": true}))]
pub struct AddonPurchaseRequest {
    pub payment_method: PaymentMethodDto,
    /// Must be true.
    pub accept_terms: bool,
    /// Extend the FE so the add-on gets a full year ("Estensione dei
    /// servizi attivi"); default true.
    pub extend_base: Option<bool>,
    /// Receives the payment confirmation; default the account's email.
    #[schema(max_length = 254)]
    pub confirmation_email: Option<String>,
}

/// `POST /v1/services/{id}/addons` also names the product.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"product_code": "incassi-pagamenti", "payment_method": "card", "accept_terms": true, "extend_base": true}))]
pub struct ServiceAddonRequest {
    #[schema(example = "incassi-pagamenti", max_length = 64)]
    pub product_code: String,
    pub payment_method: PaymentMethodDto,
    /// Must be true.
    pub accept_terms: bool,
    pub extend_base: Option<bool>,
    #[schema(max_length = 254)]
    pub confirmation_email: Option<String>,
}

fn purchase_errors(accept_terms: bool, email: Option<&str>) -> Vec<FieldError> {
    terms_error(accept_terms)
        .into_iter()
        .chain(email.and_then(|e| email_error("/confirmation_email", e)))
        .collect()
}

impl Validate for AddonPurchaseRequest {
    fn validate(&self) -> Vec<FieldError> {
        purchase_errors(self.accept_terms, self.confirmation_email.as_deref())
    }
}

impl Validate for ServiceAddonRequest {
    fn validate(&self) -> Vec<FieldError> {
        purchase_errors(self.accept_terms, self.confirmation_email.as_deref())
    }
}

/// Buy an add-on for one of my services.
///
/// The customer-area entry point ("Aggiungi modulo incassi e pagamenti").
/// The eligibility rules apply (base active, module not already there nor
/// pending in another unpaid order); with `extend_base` (default) the FE is
/// extended pro rata so the add-on gets a full year. Requires
/// `Idempotency-Key`.
#[utoipa::path(
    operation_id = "buyServiceAddon",
    tag = TAG,
    security(("customer_area" = [])),
    params(
        ("id" = Uuid, Path, description = "Service id"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", description = "Unique per purchase; replays for 24 h. A first request with this key still unanswered after 2 minutes (its server stopped) no longer blocks it: a repeat runs"),
    ),
    request_body(content = ServiceAddonRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The order", body = OrderDto),
        (status = 400, description = "Malformed JSON or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service of yours, or no such add-on", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Pending in another unpaid order (`addon_already_pending`), or the key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, `cart_not_eligible` with violations, or the key reused", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/services/{id}/addons")]
pub async fn buy(
    req: HttpRequest,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    auth: CustomerAuth,
    body: Json<ServiceAddonRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let scope = format!("addon:{}", auth.customer_id);
    let service_id = *id;
    let request = body.0;
    idempotency::run_once(&db, &scope, &key, &fingerprint, || async {
        let service = my_service(&db, service_id, auth.customer_id).await?;
        let order = buy_addon(
            &db,
            &view,
            &settings,
            AddonPurchase {
                service: &service,
                product_code: &request.product_code,
                channel: Channel::CustomerArea,
                payment_method: request.payment_method.into(),
                extend_base: request.extend_base.unwrap_or(true),
                confirmation_email: request.confirmation_email.as_deref(),
            },
        )
        .await?;
        Ok((StatusCode::CREATED, order_dto(&order, &settings)))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct PanelChannelQuery {
    /// `panel` (default) or `android_app`.
    pub channel: Option<String>,
}

impl crate::http::query::QueryParams for PanelChannelQuery {
    fn expected(name: &str) -> Option<&'static str> {
        (name == "channel").then_some("channel must be panel or android_app")
    }
}

/// Buy an add-on from the panel or the app.
///
/// The panel's "Attiva" in "Stato servizio", the menu "Servizi aggiuntivi
/// → Acquista", and the Android app's "Moduli aggiuntivi → Acquista" (send
/// `?channel=android_app`). Same rules and order as the customer area.
/// Requires `Idempotency-Key`.
#[utoipa::path(
    operation_id = "panelBuyAddon",
    tag = "panel",
    security(("panel" = [])),
    params(
        ("code" = String, Path, description = "Add-on product code", example = "incassi-pagamenti"),
        ("channel" = Option<String>, Query, description = "`panel` (default) or `android_app`"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", description = "Unique per purchase; replays for 24 h. A first request with this key still unanswered after 2 minutes (its server stopped) no longer blocks it: a repeat runs"),
    ),
    request_body(content = AddonPurchaseRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The order", body = OrderDto),
        (status = 400, description = "Malformed JSON or no Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password change required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such add-on", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Pending in another unpaid order, or the key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, `cart_not_eligible` with violations, or the key reused", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/panel/addons/{code}/purchase")]
#[allow(clippy::too_many_arguments)]
pub async fn panel_buy(
    req: HttpRequest,
    code: web::Path<String>,
    query: crate::http::query::Query<PanelChannelQuery>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    settings: web::Data<OrderSettings>,
    auth: PanelSession,
    body: Json<AddonPurchaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let channel = match query.channel.as_deref() {
        None | Some("panel") => Channel::Panel,
        Some("android_app") => Channel::AndroidApp,
        Some(_) => {
            return Err(ApiError::field(
                "/channel",
                ErrorCode::InvalidValue,
                "panel or android_app",
            ));
        }
    };
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(&req, &body.0);
    let scope = format!("panel-addon:{}", auth.user.id);
    let request = body.0;
    idempotency::run_once(&db, &scope, &key, &fingerprint, || async {
        let service = db
            .services()
            .find_service(auth.user.service_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("panel user without service")))?;
        let order = buy_addon(
            &db,
            &view,
            &settings,
            AddonPurchase {
                service: &service,
                product_code: &code,
                channel,
                payment_method: request.payment_method.into(),
                extend_base: request.extend_base.unwrap_or(true),
                confirmation_email: request.confirmation_email.as_deref(),
            },
        )
        .await?;
        Ok((StatusCode::CREATED, order_dto(&order, &settings)))
    })
    .await
}
