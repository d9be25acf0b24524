//! Reads the catalog data file (`catalog/catalog.toml`) into a validated
//! [`domain::Catalog`]. Every failure names the file and the problem.

use chrono::NaiveDate;
use domain::{Bounds, Catalog, Category, Money, Product, ProductCode, ProductPrices};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    effective_date: NaiveDate,
    currency: String,
    vat_rate: Decimal,
    products: Vec<ProductEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    code: String,
    name: String,
    #[serde(default)]
    description: String,
    category: CategoryEntry,
    #[serde(default)]
    available_on: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    years: Option<BoundsEntry>,
    quantity: Option<BoundsEntry>,
    #[serde(default)]
    requires_partita_iva: bool,
    prices: PricesEntry,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CategoryEntry {
    Base,
    Addon,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundsEntry {
    min: u32,
    max: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesEntry {
    new_base: Option<String>,
    with_new_base: Option<String>,
    on_existing_base: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("catalog {path}: {problem}")]
pub struct CatalogFileError {
    pub path: String,
    pub problem: String,
}

fn money(code: &str, field: &str, text: &str) -> Result<Money, String> {
    Money::parse(text).map_err(|e| format!("product `{code}`: prices.{field} = {text:?}: {e}"))
}

fn product(entry: ProductEntry) -> Result<Product, String> {
    let code = ProductCode::parse(&entry.code).map_err(|e| e.to_string())?;
    let category = match entry.category {
        CategoryEntry::Base => Category::Base,
        CategoryEntry::Addon => Category::Addon,
    };
    let c = entry.code.as_str();
    let prices = match (category, &entry.prices) {
        (
            Category::Base,
            PricesEntry {
                new_base: Some(yearly),
                with_new_base: None,
                on_existing_base: None,
            },
        ) => ProductPrices {
            with_new_base: money(c, "new_base", yearly)?,
            on_existing_base: None,
        },
        (
            Category::Addon,
            PricesEntry {
                new_base: None,
                with_new_base: Some(new),
                on_existing_base: Some(existing),
            },
        ) => ProductPrices {
            with_new_base: money(c, "with_new_base", new)?,
            on_existing_base: Some(money(c, "on_existing_base", existing)?),
        },
        (Category::Base, _) => {
            return Err(format!(
                "product `{c}`: a base has exactly one price, `new_base`"
            ));
        }
        (Category::Addon, _) => {
            return Err(format!(
                "product `{c}`: an add-on has exactly `with_new_base` and `on_existing_base` prices"
            ));
        }
    };
    let codes = |list: &[String]| -> Result<Vec<ProductCode>, String> {
        list.iter()
            .map(|s| ProductCode::parse(s).map_err(|e| format!("product `{c}`: {e}")))
            .collect()
    };
    let bounds = |b: Option<&BoundsEntry>| {
        b.map_or(Bounds::ONE, |b| Bounds {
            min: b.min,
            max: b.max,
        })
    };
    Ok(Product {
        code,
        name: entry.name.clone(),
        description: entry.description.clone(),
        category,
        prices,
        available_on: codes(&entry.available_on)?,
        requires: codes(&entry.requires)?,
        years: bounds(entry.years.as_ref()),
        quantity: bounds(entry.quantity.as_ref()),
        requires_partita_iva: entry.requires_partita_iva,
    })
}

/// Parses catalog text; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<Catalog, CatalogFileError> {
    let fail = |problem: String| CatalogFileError {
        path: origin.to_owned(),
        problem,
    };
    let file: CatalogFile =
        toml::from_str(text).map_err(|e| fail(e.to_string().trim().to_owned()))?;
    if file.currency != "EUR" {
        return Err(fail(format!(
            "currency {:?} is not supported, only EUR",
            file.currency
        )));
    }
    let products = file
        .products
        .into_iter()
        .map(product)
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    Catalog::new(file.effective_date, file.vat_rate, products).map_err(|e| fail(e.to_string()))
}

/// The catalog shipped with this version, compiled into the binary: the
/// server's catalog unless `ATTIVA_CATALOG` names a file, so the binary
/// starts from any folder (and after `cargo install --path api`).
pub const SHIPPED: &str = include_str!("../../../catalog/catalog.toml");

/// How the built-in catalog is named in errors and logs.
pub const SHIPPED_ORIGIN: &str = "built-in catalog/catalog.toml";

/// The catalog file at `path`, or the built-in one when there is none.
pub fn load_or_shipped(path: Option<&Path>) -> Result<Catalog, CatalogFileError> {
    match path {
        Some(path) => load(path),
        None => parse(SHIPPED_ORIGIN, SHIPPED),
    }
}

pub fn load(path: &Path) -> Result<Catalog, CatalogFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CatalogFileError {
        path: origin.clone(),
        problem: format!("cannot read the file: {e}"),
    })?;
    parse(&origin, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../catalog/catalog.toml");

    #[test]
    fn the_shipped_catalog_is_valid_and_complete() {
        let catalog = parse("catalog.toml", SHIPPED).unwrap_or_else(|e| panic!("{e}"));
        let codes: Vec<&str> = catalog.products().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "fe",
                "fe-solo-ricezione",
                "incassi-pagamenti",
                "documenti",
                "woocommerce",
                "spazio-1gb"
            ]
        );
        let ip = catalog
            .get("incassi-pagamenti")
            .unwrap_or_else(|| panic!("missing"));
        assert!(ip.prices.with_new_base.is_zero());
    }

    #[test]
    fn a_dangling_requirement_is_named() {
        let broken = SHIPPED.replace("requires = [\"documenti\"]", "requires = [\"documentz\"]");
        let error = parse("catalog.toml", &broken).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "catalog catalog.toml: product `woocommerce`: requires `documentz`, which is not another add-on"
            )
        );
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let error = parse("catalog.toml", "effective_date = ")
            .err()
            .map(|e| e.to_string());
        assert!(
            error.is_some_and(|e| e.contains("line 1")),
            "no line number"
        );
    }

    #[test]
    fn a_bad_price_is_named() {
        let broken = SHIPPED.replace("new_base = \"25.00\"", "new_base = \"25.001\"");
        let error = parse("catalog.toml", &broken).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "catalog catalog.toml: product `fe`: prices.new_base = \"25.001\": amounts have at most two decimals"
            )
        );
    }
}
