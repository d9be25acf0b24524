//! The catalog as the API shows it: its DTOs, rendered once at start.
//! The catalog is immutable while the server runs, so its JSON and ETags
//! are computed once and served as bytes; the other areas price and check
//! against `CatalogView::catalog`.

use actix_web::http::header::HeaderValue;
use actix_web::web;
use domain::{Catalog, Category, Product};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CategoryDto {
    /// Sold on its own.
    Base,
    /// Only sold on a base.
    Addon,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CatalogPriceContext {
    /// A base bought new, per year.
    NewBase,
    /// An add-on bought with a new base in the same cart, per year of the base.
    WithNewBase,
    /// An add-on bought for a base the buyer already owns, for one year.
    OnExistingBase,
}

/// A net price (IVA excluded) in one purchase context.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceDto {
    pub context: CatalogPriceContext,
    /// Decimal euro amount, two decimals.
    #[schema(example = "25.00", pattern = r"^\d+\.\d{2}$")]
    pub amount: String,
    #[schema(example = "EUR")]
    pub currency: String,
    /// The period the amount pays for.
    #[schema(example = "year")]
    pub per: String,
}

/// Inclusive bounds.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoundsDto {
    #[schema(example = 1)]
    pub min: u32,
    #[schema(example = 10)]
    pub max: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductBoundsDto {
    /// Years one order may buy (bases; add-ons follow their base).
    pub years: BoundsDto,
    /// Units one cart line may hold.
    pub quantity: BoundsDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "incassi-pagamenti",
    "name": "Incassi e pagamenti",
    "description": "Scadenziario, incassi, pagamenti e prima nota.",
    "category": "addon",
    "prices": [
        {"context": "with_new_base", "amount": "0.00", "currency": "EUR", "per": "year"},
        {"context": "on_existing_base", "amount": "29.00", "currency": "EUR", "per": "year"}
    ],
    "vat_rate": "22",
    "available_on": ["fe"],
    "requires": [],
    "bounds": {"years": {"min": 1, "max": 1}, "quantity": {"min": 1, "max": 1}},
    "requires_partita_iva": false,
    "co_terminated": true
}))]
pub struct ProductDto {
    #[schema(example = "fe")]
    pub code: String,
    #[schema(example = "Fatturazione Elettronica")]
    pub name: String,
    pub description: String,
    pub category: CategoryDto,
    /// Net prices by purchase context.
    pub prices: Vec<PriceDto>,
    /// IVA rate in percent applied to every line.
    #[schema(example = "22")]
    pub vat_rate: String,
    /// Add-ons: the bases they can be bought on. Empty for bases.
    pub available_on: Vec<String>,
    /// Add-ons: other add-ons that must be on the same base (owned or in the cart).
    pub requires: Vec<String>,
    pub bounds: ProductBoundsDto,
    /// Bases: the holder must have a Partita IVA.
    pub requires_partita_iva: bool,
    /// Add-ons end with their base (co-termination).
    pub co_terminated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductListDto {
    /// The catalog version in force: the date it is effective from.
    #[schema(example = "2026-01-01")]
    pub effective_date: chrono::NaiveDate,
    pub items: Vec<ProductDto>,
    /// Always null: the catalog fits in one page.
    #[schema(nullable)]
    pub next_cursor: Option<String>,
}

fn product_dto(product: &Product, catalog: &Catalog) -> ProductDto {
    let price = |context, amount: domain::Money| PriceDto {
        context,
        amount: amount.to_string(),
        currency: "EUR".to_owned(),
        per: "year".to_owned(),
    };
    let prices = match product.category {
        Category::Base => vec![price(
            CatalogPriceContext::NewBase,
            product.prices.with_new_base,
        )],
        Category::Addon => {
            let mut prices = vec![price(
                CatalogPriceContext::WithNewBase,
                product.prices.with_new_base,
            )];
            if let Some(existing) = product.prices.on_existing_base {
                prices.push(price(CatalogPriceContext::OnExistingBase, existing));
            }
            prices
        }
    };
    let bounds = |b: domain::Bounds| BoundsDto {
        min: b.min,
        max: b.max,
    };
    ProductDto {
        code: product.code.to_string(),
        name: product.name.clone(),
        description: product.description.clone(),
        category: match product.category {
            Category::Base => CategoryDto::Base,
            Category::Addon => CategoryDto::Addon,
        },
        prices,
        vat_rate: catalog.vat_rate().normalize().to_string(),
        available_on: product
            .available_on
            .iter()
            .map(ToString::to_string)
            .collect(),
        requires: product.requires.iter().map(ToString::to_string).collect(),
        bounds: ProductBoundsDto {
            years: bounds(product.years),
            quantity: bounds(product.quantity),
        },
        requires_partita_iva: product.requires_partita_iva,
        co_terminated: product.is_addon(),
    }
}

/// A pre-rendered JSON document and its strong ETag.
#[derive(Debug, Clone)]
pub(super) struct Rendered {
    pub(super) body: web::Bytes,
    pub(super) etag: HeaderValue,
}

impl Rendered {
    fn of<T: Serialize>(value: &T) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        Ok(Rendered {
            body: web::Bytes::from(body),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        })
    }
}

/// The largest bounds of the whole catalog: what a request may ask for at
/// all before the per-product rules look at it.
#[derive(Debug, Clone, Copy)]
pub struct CatalogLimits {
    pub max_years: u32,
    pub max_quantity: u32,
}

/// The catalog as the API serves it.
#[derive(Debug)]
pub struct CatalogView {
    pub catalog: Catalog,
    limits: CatalogLimits,
    pub(super) list: Rendered,
    pub(super) products: HashMap<String, Rendered>,
}

impl CatalogView {
    pub fn new(catalog: Catalog) -> Result<Self, serde_json::Error> {
        let items: Vec<ProductDto> = catalog
            .products()
            .map(|p| product_dto(p, &catalog))
            .collect();
        let mut products = HashMap::new();
        for item in &items {
            products.insert(item.code.clone(), Rendered::of(item)?);
        }
        let list = Rendered::of(&ProductListDto {
            effective_date: catalog.effective_date(),
            items,
            next_cursor: None,
        })?;
        let limits = CatalogLimits {
            max_years: catalog.products().map(|p| p.years.max).max().unwrap_or(1),
            max_quantity: catalog
                .products()
                .map(|p| p.quantity.max)
                .max()
                .unwrap_or(1),
        };
        Ok(CatalogView {
            catalog,
            limits,
            list,
            products,
        })
    }
}

impl CatalogView {
    pub fn limits(&self) -> CatalogLimits {
        self.limits
    }
}
