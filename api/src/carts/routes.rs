//! Carts: create, read, add and remove lines. A cart is priced and checked
//! against the eligibility rules on every read, so it always shows the
//! current prices and violations.

use super::TAG;
use super::errors::{CartAccessError, CartChangeRefused};
use super::token::{CART_TOKEN, hash_token, new_token, token_opens};
use crate::auth::extract::OptionalCustomer;
use crate::catalog::view::CatalogView;
use crate::config::state::Limits;
use crate::http::codes::ErrorCode;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::shared::pricing::{LinePriceContext, PricedLineDto, TotalsDto};
use actix_web::http::header::{self};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use domain::{Buyer, CartLine, Channel, PricedCart, Violation};
use persistence::Database;
use persistence::cart::{Cart, NewCart};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Web,
    CustomerArea,
    Panel,
    AndroidApp,
}

impl From<ChannelDto> for Channel {
    fn from(dto: ChannelDto) -> Self {
        match dto {
            ChannelDto::Web => Channel::Web,
            ChannelDto::CustomerArea => Channel::CustomerArea,
            ChannelDto::Panel => Channel::Panel,
            ChannelDto::AndroidApp => Channel::AndroidApp,
        }
    }
}

impl From<Channel> for ChannelDto {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Web => ChannelDto::Web,
            Channel::CustomerArea => ChannelDto::CustomerArea,
            Channel::Panel => ChannelDto::Panel,
            Channel::AndroidApp => ChannelDto::AndroidApp,
        }
    }
}

/// Body of `POST /v1/carts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "web"}))]
pub struct CreateCartRequest {
    /// Where the purchase starts.
    pub channel: ChannelDto,
}

impl Validate for CreateCartRequest {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Body of `POST /v1/carts/{id}/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(
    json!({"product_code": "fe", "years": 1}),
    json!({"product_code": "incassi-pagamenti", "base_item_id": "0190f5c2-7f6e-7a3b-9c1d-2e4f6a8b0c1d"}),
    json!({"product_code": "incassi-pagamenti", "target_service_id": "0190f5c2-7f6e-7a3b-9c1d-2e4f6a8b0c1d", "extend_base": true}),
    json!({"product_code": "spazio-1gb", "quantity": 3, "base_item_id": "0190f5c2-7f6e-7a3b-9c1d-2e4f6a8b0c1d"})
))]
pub struct AddItemRequest {
    /// A product code of the catalog (the enumeration lists the catalog
    /// shipped with this version).
    #[schema(example = "fe")]
    pub product_code: String,
    /// Bases: years to buy (default: the product's minimum). Values above
    /// the catalog's largest bound are refused (422); values outside this
    /// product's own bounds (an add-on follows its base: 1) are reported as
    /// the violation `years_out_of_bounds`.
    #[schema(minimum = 1, example = 1)]
    #[serde(default, deserialize_with = "crate::http::json::optional_whole")]
    pub years: Option<u32>,
    /// Units (default 1). Values above the catalog's largest bound are
    /// refused (422); values outside this product's bounds are reported as
    /// the violation `quantity_out_of_bounds`.
    #[schema(minimum = 1, example = 1)]
    #[serde(default, deserialize_with = "crate::http::json::optional_whole")]
    pub quantity: Option<u32>,
    /// Add-ons bought with a new base: the id of the base's item in this
    /// cart. An id that is not a base item of this cart is reported as
    /// `addon_requires_base`.
    pub base_item_id: Option<Uuid>,
    /// Add-ons bought for a base service the buyer owns (give this or
    /// `base_item_id`, not both).
    pub target_service_id: Option<Uuid>,
    /// Add-ons for an owned base: extend the base so the add-on gets a full
    /// year ("Estensione dei servizi attivi"); default true.
    pub extend_base: Option<bool>,
}

impl Validate for AddItemRequest {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// What the client put in the cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemDto {
    pub id: Uuid,
    #[schema(example = "fe")]
    pub product_code: String,
    #[schema(nullable, example = 1)]
    pub years: Option<u32>,
    #[schema(example = 1)]
    pub quantity: u32,
    #[schema(nullable)]
    pub base_item_id: Option<Uuid>,
    #[schema(nullable)]
    pub target_service_id: Option<Uuid>,
    pub extend_base: bool,
}

/// A broken eligibility rule (product.md section 2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationDto {
    /// Stable code: `unknown_product`, `addon_requires_base`,
    /// `base_cannot_attach`, `addon_not_available_on_base`, `target_service_not_found`,
    /// `target_service_not_active`, `addon_already_present`,
    /// `addon_requires_addon`, `one_fe_per_holder`,
    /// `base_requires_partita_iva`, `years_out_of_bounds`,
    /// `quantity_out_of_bounds`.
    #[schema(example = "addon_requires_base")]
    pub code: String,
    /// The offending cart item.
    pub item_id: Uuid,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CartStatusDto {
    Open,
    CheckedOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    pub id: Uuid,
    /// The anonymous cart token: only in the response that creates the
    /// cart. Send it back as `X-Cart-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub channel: ChannelDto,
    pub status: CartStatusDto,
    pub items: Vec<CartItemDto>,
    pub lines: Vec<PricedLineDto>,
    pub totals: TotalsDto,
    /// Every broken rule; checkout is refused while any is listed.
    pub violations: Vec<ViolationDto>,
    /// True when the cart is open, not empty and has no violations.
    pub checkout_allowed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn cart_dto(
    cart: &Cart,
    priced: &PricedCart,
    violations: &[Violation],
    token: Option<String>,
) -> CartDto {
    let open = cart.status == domain::CartStatus::Open;
    CartDto {
        id: cart.id,
        token,
        channel: cart.channel.into(),
        status: if open {
            CartStatusDto::Open
        } else {
            CartStatusDto::CheckedOut
        },
        items: cart
            .lines
            .iter()
            .map(|l| CartItemDto {
                id: l.id,
                product_code: l.product_code.clone(),
                years: l.years,
                quantity: l.quantity,
                base_item_id: l.base_item_id,
                target_service_id: l.target_service_id,
                extend_base: l.extend_base,
            })
            .collect(),
        lines: priced
            .lines
            .iter()
            .map(|l| PricedLineDto {
                item_id: l.item_id,
                product_code: l.product_code.clone(),
                description: l.description.clone(),
                context: match l.context {
                    domain::pricing::PriceContext::Base => LinePriceContext::Base,
                    domain::pricing::PriceContext::WithNewBase => LinePriceContext::WithNewBase,
                    domain::pricing::PriceContext::OnExistingBase => {
                        LinePriceContext::OnExistingBase
                    }
                    domain::pricing::PriceContext::BaseExtension => LinePriceContext::BaseExtension,
                },
                unit_price: l.unit_price.to_string(),
                quantity: l.quantity,
                years: l.years,
                days: l.days,
                ends_on: l.ends_on,
                net: l.net.to_string(),
                vat_rate: l.vat_rate.normalize().to_string(),
                vat: l.vat.to_string(),
                total: l.total.to_string(),
            })
            .collect(),
        totals: TotalsDto {
            net: priced.totals.net.to_string(),
            vat: priced.totals.vat.to_string(),
            total: priced.totals.total.to_string(),
            currency: "EUR".to_owned(),
        },
        violations: violations
            .iter()
            .map(|v| ViolationDto {
                code: v.code.as_str().to_owned(),
                item_id: v.line_id,
                detail: v.detail.clone(),
            })
            .collect(),
        checkout_allowed: open && !cart.lines.is_empty() && violations.is_empty(),
        created_at: cart.created_at,
        updated_at: cart.updated_at,
    }
}

/// Prices and checks a cart for its (so far anonymous) buyer.
fn render(cart: &Cart, view: &CatalogView, token: Option<String>) -> CartDto {
    let buyer = Buyer::default();
    let today = Utc::now().date_naive();
    let priced = domain::price(&cart.lines, &view.catalog, &buyer, today);
    let violations = domain::check(&cart.lines, &view.catalog, &buyer, today);
    cart_dto(cart, &priced, &violations, token)
}

/// Loads a cart the caller may use. A cart created by a logged-in customer
/// is theirs alone: anyone else gets 404, as for a cart that does not
/// exist. A cart created anonymously opens with its `X-Cart-Token`.
async fn authorized_cart(
    db: &Database,
    req: &HttpRequest,
    customer: Option<Uuid>,
    id: Uuid,
) -> Result<Cart, CartAccessError> {
    let token = req
        .headers()
        .get(CART_TOKEN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    if token.is_none() && customer.is_none() {
        return Err(CartAccessError::TokenRequired);
    }
    let cart = db
        .carts()
        .find_cart(id)
        .await?
        .ok_or(CartAccessError::NotFound(id))?;
    // The token opens only carts created anonymously (a customer's own cart
    // has a token nobody was told), also after a customer claimed it at
    // checkout: anonymous carts keep their token.
    let token_opens_it = token.is_some_and(|token| token_opens(&cart, token));
    match cart.customer_id {
        Some(owner) if customer == Some(owner) => Ok(cart),
        _ if token_opens_it => Ok(cart),
        Some(_) => Err(CartAccessError::NotFound(id)),
        None if token.is_none() => Err(CartAccessError::AnonymousNeedsToken),
        None => Err(CartAccessError::TokenInvalid),
    }
}

/// Create a cart.
///
/// Starts a cart for a sales channel. Without a bearer token the cart is
/// anonymous: the response carries its `token`, shown only here; send it as
/// `X-Cart-Token` on every call about this cart. With a customer's access
/// token the cart belongs to that customer from the start: it has no token,
/// only that customer's bearer token opens it, and anyone else gets 404.
#[utoipa::path(
    operation_id = "createCart",
    tag = TAG,
    security((), ("customer_area" = [])),
    request_body(content = CreateCartRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new, empty cart, with its token when anonymous", body = CartDto,
            headers(("Location" = String, description = "The cart's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "An Authorization header whose token is not a valid customer access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience (`wrong_audience`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts")]
pub async fn create_cart(
    customer: OptionalCustomer,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    body: Json<CreateCartRequest>,
) -> Result<HttpResponse, ApiError> {
    // An owned cart still stores a token hash (the column is required), of
    // a token nobody is told.
    let token = new_token();
    let cart = db
        .carts()
        .create_cart(&NewCart {
            id: Uuid::new_v4(),
            channel: body.0.channel.into(),
            token_hash: hash_token(&token),
            customer_id: customer.0,
        })
        .await?;
    tracing::info!(cart_id = %cart.id, channel = cart.channel.as_str(), owned = customer.0.is_some(), "cart created");
    let shown_token = customer.0.is_none().then_some(token);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/carts/{}", cart.id)))
        .json(render(&cart, &view, shown_token)))
}

/// Get a cart.
///
/// The cart with its items, priced lines (IVA per line, rounded half-up to
/// the cent), totals and every current rule violation.
#[utoipa::path(
    operation_id = "getCart",
    tag = TAG,
    params(("id" = Uuid, Path, description = "Cart id")),
    security(("cart_token" = []), ("customer_area" = [])),
    responses(
        (status = 200, description = "The cart", body = CartDto),
        (status = 401, description = "No X-Cart-Token on an anonymous cart, or an invalid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong X-Cart-Token, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cart, or another customer's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/carts/{id}")]
pub async fn get_cart(
    req: HttpRequest,
    customer: OptionalCustomer,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
) -> Result<HttpResponse, ApiError> {
    let cart = authorized_cart(&db, &req, customer.0, *id).await?;
    Ok(HttpResponse::Ok().json(render(&cart, &view, None)))
}

/// Checks an item against the catalog before it enters a cart: the product
/// exists and years and quantity are within the catalog's largest bounds.
/// Everything finer (this product's bounds, which base it hangs on) is an
/// eligibility rule, reported on the cart as a violation.
fn checked_line(request: AddItemRequest, view: &CatalogView) -> Result<CartLine, ApiError> {
    let Some(product) = view.catalog.get(&request.product_code) else {
        let known: Vec<String> = view
            .catalog
            .products()
            .map(|p| p.code.to_string())
            .collect();
        return Err(ApiError::field(
            "/product_code",
            ErrorCode::UnknownProduct,
            format!(
                "`{}` is not in the catalog; known: {}",
                request.product_code,
                known.join(", ")
            ),
        ));
    };
    let limits = view.limits();
    let mut errors = Vec::new();
    if let Some(years) = request
        .years
        .filter(|y| !(1..=limits.max_years).contains(y))
    {
        errors.push(FieldError::new(
            "/years",
            ErrorCode::YearsOutOfBounds,
            format!(
                "years must be between 1 and {} (got {years})",
                limits.max_years
            ),
        ));
    }
    if let Some(quantity) = request
        .quantity
        .filter(|q| !(1..=limits.max_quantity).contains(q))
    {
        errors.push(FieldError::new(
            "/quantity",
            ErrorCode::QuantityOutOfBounds,
            format!(
                "quantity must be between 1 and {} (got {quantity})",
                limits.max_quantity
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(CartLine {
        id: Uuid::new_v4(),
        product_code: product.code.to_string(),
        years: match request.years {
            None if !product.is_addon() => Some(product.years.min),
            years => years,
        },
        quantity: request.quantity.unwrap_or(1),
        base_item_id: request.base_item_id,
        target_service_id: request.target_service_id,
        extend_base: request.extend_base.unwrap_or(true),
    })
}

/// Documents what the catalog allows in `AddItemRequest`: the product codes
/// and the largest years and quantity, so generated clients and contract
/// tests know them.
pub fn document_catalog(api: &mut utoipa::openapi::OpenApi, view: &CatalogView) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let Some(RefOr::T(Schema::Object(request))) = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("AddItemRequest"))
    else {
        return;
    };
    let limits = view.limits();
    let codes: Vec<serde_json::Value> = view
        .catalog
        .products()
        .map(|p| serde_json::Value::from(p.code.as_str()))
        .collect();
    for (field, change) in request.properties.iter_mut() {
        let RefOr::T(Schema::Object(property)) = change else {
            continue;
        };
        match field.as_str() {
            "product_code" => property.enum_values = Some(codes.clone()),
            "years" => property.maximum = Some(utoipa::Number::UInt(limits.max_years as usize)),
            "quantity" => {
                property.maximum = Some(utoipa::Number::UInt(limits.max_quantity as usize))
            }
            _ => {}
        }
    }
    // An add-on bought for an owned service names one of the add-ons.
    let addons: Vec<serde_json::Value> = view
        .catalog
        .products()
        .filter(|p| p.is_addon())
        .map(|p| serde_json::Value::from(p.code.as_str()))
        .collect();
    if let Some(RefOr::T(Schema::Object(request))) = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("ServiceAddonRequest"))
        && let Some(RefOr::T(Schema::Object(property))) = request.properties.get_mut("product_code")
    {
        property.enum_values = Some(addons);
    }
}

/// Add an item to a cart.
///
/// Adds a base (`fe` with `years`) or an add-on. An add-on names its base:
/// `base_item_id` (a base line of this cart: "Aggiungi al carrello") or
/// `target_service_id` (a base the buyer owns). An add-on with neither is
/// accepted and reported as the violation `addon_requires_base`; the cart
/// shows every violation (product.md section 2, rules 1-7) and checkout
/// refuses them. Unknown products, and years or quantities above the
/// catalog's largest bounds, are refused with 422.
#[utoipa::path(
    operation_id = "addCartItem",
    tag = TAG,
    params(("id" = Uuid, Path, description = "Cart id")),
    security(("cart_token" = []), ("customer_area" = [])),
    request_body(content = AddItemRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The cart with the new item", body = CartDto),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No X-Cart-Token on an anonymous cart, or an invalid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong X-Cart-Token, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cart, or another customer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cart is checked out (`cart_not_open`), full (`cart_full`), or changed by concurrent removals and additions too often to add to (`cart_busy`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown product; years or quantity above the catalog's bounds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts/{id}/items")]
pub async fn add_item(
    req: HttpRequest,
    customer: OptionalCustomer,
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
    limits: web::Data<Limits>,
    body: Json<AddItemRequest>,
) -> Result<HttpResponse, ApiError> {
    let cart = authorized_cart(&db, &req, customer.0, *id).await?;
    let line = checked_line(body.0, &view)?;
    let cart_id = cart.id;
    let cart = db
        .carts()
        .add_cart_line(cart, &line, limits.max_cart_items)
        .await
        .map_err(|error| CartChangeRefused { cart_id, error })?;
    tracing::info!(cart_id = %cart.id, item_id = %line.id, product = %line.product_code, "cart item added");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/carts/{}", cart.id)))
        .json(render(&cart, &view, None)))
}

/// Remove an item from a cart.
///
/// Add-ons that pointed at a removed base stay in the cart and show the
/// violation `addon_requires_base` until they are removed or re-added.
#[utoipa::path(
    operation_id = "removeCartItem",
    tag = TAG,
    params(
        ("id" = Uuid, Path, description = "Cart id"),
        ("item_id" = Uuid, Path, description = "Cart item id"),
    ),
    security(("cart_token" = []), ("customer_area" = [])),
    responses(
        (status = 200, description = "The cart without the item", body = CartDto),
        (status = 401, description = "No X-Cart-Token on an anonymous cart, or an invalid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong X-Cart-Token, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such cart or item, or another customer's cart", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cart is checked out", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/carts/{id}/items/{item_id}")]
pub async fn remove_item(
    req: HttpRequest,
    customer: OptionalCustomer,
    path: web::Path<(Uuid, Uuid)>,
    db: web::Data<Database>,
    view: web::Data<CatalogView>,
) -> Result<HttpResponse, ApiError> {
    let (cart_id, item_id) = path.into_inner();
    let cart = authorized_cart(&db, &req, customer.0, cart_id).await?;
    let cart = db
        .carts()
        .remove_cart_line(cart.id, item_id)
        .await
        .map_err(|error| CartChangeRefused { cart_id, error })?;
    tracing::info!(cart_id = %cart.id, %item_id, "cart item removed");
    Ok(HttpResponse::Ok().json(render(&cart, &view, None)))
}
