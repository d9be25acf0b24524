//! The product catalog: what can be sold, on which base, at which price.
//! Prices are data (loaded from `catalog/`), never code; a [`Catalog`] can
//! only be built from products that are consistent with one another.

use crate::money::Money;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;

/// A catalog product code: lower-case letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductCode(String);

impl ProductCode {
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(ProductCode(text.to_owned()))
        } else {
            Err(CatalogError::BadCode(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A service sold on its own (`fe`, `fe-solo-ricezione`).
    Base,
    /// A module that only lives on a base service.
    Addon,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Base => "base",
            Category::Addon => "addon",
        }
    }
}

/// Inclusive bounds on an integer (years of a base, quantity of an add-on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
}

impl Bounds {
    pub const ONE: Bounds = Bounds { min: 1, max: 1 };

    pub fn contains(self, value: u32) -> bool {
        (self.min..=self.max).contains(&value)
    }
}

/// Net prices (IVA excluded), per year and per unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPrices {
    /// Bases: the yearly price. Add-ons: the yearly price when the base is a
    /// new one in the same cart.
    pub with_new_base: Money,
    /// Add-ons only: the yearly price when added to a base the buyer owns.
    pub on_existing_base: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub code: ProductCode,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub prices: ProductPrices,
    /// Add-ons: the bases they can be attached to. Empty for bases.
    pub available_on: Vec<ProductCode>,
    /// Add-ons: other add-ons that must be on the same base.
    pub requires: Vec<ProductCode>,
    /// Bases: how many years one order may buy.
    pub years: Bounds,
    /// How many units one line may hold (storage packs).
    pub quantity: Bounds,
    /// Bases: the holder must have a Partita IVA.
    pub requires_partita_iva: bool,
}

impl Product {
    pub fn is_addon(&self) -> bool {
        self.category == Category::Addon
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("`{0}` is not a valid product code (lower-case letters, digits, dashes)")]
    BadCode(String),
    #[error("product `{0}` is listed twice")]
    Duplicate(String),
    #[error("product `{product}`: {problem}")]
    Inconsistent { product: String, problem: String },
    #[error("the IVA rate must be between 0 and 100, got {0}")]
    BadVatRate(Decimal),
    #[error("the catalog has no base product")]
    NoBase,
}

/// A validated catalog version, effective from a date.
#[derive(Debug, Clone)]
pub struct Catalog {
    effective_date: NaiveDate,
    vat_rate: Decimal,
    products: BTreeMap<ProductCode, Product>,
    order: Vec<ProductCode>,
}

impl Catalog {
    /// Checks that every reference between products holds, so that the
    /// rules never meet a dangling code.
    pub fn new(
        effective_date: NaiveDate,
        vat_rate_percent: Decimal,
        products: Vec<Product>,
    ) -> Result<Self, CatalogError> {
        if vat_rate_percent.is_sign_negative() || vat_rate_percent > Decimal::ONE_HUNDRED {
            return Err(CatalogError::BadVatRate(vat_rate_percent));
        }
        let mut map = BTreeMap::new();
        let mut order = Vec::new();
        for product in products {
            if map.contains_key(&product.code) {
                return Err(CatalogError::Duplicate(product.code.to_string()));
            }
            order.push(product.code.clone());
            map.insert(product.code.clone(), product);
        }
        for product in map.values() {
            let fail = |problem: String| CatalogError::Inconsistent {
                product: product.code.to_string(),
                problem,
            };
            if product.years.min == 0 || product.years.min > product.years.max {
                return Err(fail("years bounds must satisfy 1 <= min <= max".into()));
            }
            if product.quantity.min == 0 || product.quantity.min > product.quantity.max {
                return Err(fail("quantity bounds must satisfy 1 <= min <= max".into()));
            }
            match product.category {
                Category::Base => {
                    if !product.available_on.is_empty() || !product.requires.is_empty() {
                        return Err(fail(
                            "a base cannot be available on or require other products".into(),
                        ));
                    }
                    if product.prices.on_existing_base.is_some() {
                        return Err(fail("a base has no on_existing_base price".into()));
                    }
                }
                Category::Addon => {
                    if product.available_on.is_empty() {
                        return Err(fail(
                            "an add-on must be available on at least one base".into(),
                        ));
                    }
                    if product.prices.on_existing_base.is_none() {
                        return Err(fail("an add-on needs an on_existing_base price".into()));
                    }
                    if product.years != Bounds::ONE {
                        return Err(fail(
                            "an add-on's years follow its base; leave years at 1..1".into(),
                        ));
                    }
                    for base in &product.available_on {
                        match map.get(base) {
                            Some(p) if p.category == Category::Base => {}
                            Some(_) => return Err(fail(format!("`{base}` is not a base"))),
                            None => return Err(fail(format!("unknown base `{base}`"))),
                        }
                    }
                    for required in &product.requires {
                        match map.get(required) {
                            Some(p) if p.is_addon() && required != &product.code => {}
                            _ => {
                                return Err(fail(format!(
                                    "requires `{required}`, which is not another add-on"
                                )));
                            }
                        }
                    }
                }
            }
        }
        if !map.values().any(|p| p.category == Category::Base) {
            return Err(CatalogError::NoBase);
        }
        Ok(Catalog {
            effective_date,
            vat_rate: vat_rate_percent,
            products: map,
            order,
        })
    }

    pub fn effective_date(&self) -> NaiveDate {
        self.effective_date
    }

    /// IVA rate in percent (22 for 22%).
    pub fn vat_rate(&self) -> Decimal {
        self.vat_rate
    }

    pub fn get(&self, code: &str) -> Option<&Product> {
        ProductCode::parse(code)
            .ok()
            .and_then(|code| self.products.get(&code))
    }

    /// Products in the order the catalog file lists them.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.order.iter().filter_map(|code| self.products.get(code))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap_or_default()
    }

    fn code(text: &str) -> ProductCode {
        ProductCode::parse(text).unwrap_or_else(|_| ProductCode(text.to_owned()))
    }

    fn base(name: &str, price: &str, partita_iva: bool) -> Product {
        Product {
            code: code(name),
            name: name.to_owned(),
            description: String::new(),
            category: Category::Base,
            prices: ProductPrices {
                with_new_base: money(price),
                on_existing_base: None,
            },
            available_on: vec![],
            requires: vec![],
            years: Bounds { min: 1, max: 10 },
            quantity: Bounds::ONE,
            requires_partita_iva: partita_iva,
        }
    }

    fn addon(
        name: &str,
        new: &str,
        existing: &str,
        requires: &[&str],
        quantity: Bounds,
    ) -> Product {
        Product {
            code: code(name),
            name: name.to_owned(),
            description: String::new(),
            category: Category::Addon,
            prices: ProductPrices {
                with_new_base: money(new),
                on_existing_base: Some(money(existing)),
            },
            available_on: vec![code("fe")],
            requires: requires.iter().map(|r| code(r)).collect(),
            years: Bounds::ONE,
            quantity,
            requires_partita_iva: false,
        }
    }

    /// The catalog of product.md section 2, with the prices of `catalog/`.
    pub(crate) fn catalog() -> Catalog {
        let products = vec![
            base("fe", "25.00", true),
            base("fe-solo-ricezione", "0.00", false),
            addon("incassi-pagamenti", "0.00", "29.00", &[], Bounds::ONE),
            addon("documenti", "15.00", "15.00", &[], Bounds::ONE),
            addon("woocommerce", "20.00", "20.00", &["documenti"], Bounds::ONE),
            addon(
                "spazio-1gb",
                "5.00",
                "5.00",
                &[],
                Bounds { min: 1, max: 50 },
            ),
        ];
        let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        match Catalog::new(date, Decimal::from(22), products) {
            Ok(catalog) => catalog,
            Err(error) => panic!("test catalog is broken: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_catalog_is_consistent() {
        let catalog = fixtures::catalog();
        assert_eq!(catalog.products().count(), 6);
        assert_eq!(catalog.get("fe").map(|p| p.category), Some(Category::Base));
        assert!(catalog.get("FE").is_none());
    }

    #[test]
    fn an_addon_on_an_unknown_base_is_refused() {
        let mut products: Vec<Product> = fixtures::catalog().products().cloned().collect();
        products[2].available_on = vec![ProductCode("nope".into())];
        let error = Catalog::new(NaiveDate::MIN, Decimal::from(22), products).err();
        assert_eq!(
            error.map(|e| e.to_string()),
            Some("product `incassi-pagamenti`: unknown base `nope`".to_owned())
        );
    }

    #[test]
    fn duplicates_and_bad_rates_are_refused() {
        let mut products: Vec<Product> = fixtures::catalog().products().cloned().collect();
        products.push(products[0].clone());
        assert_eq!(
            Catalog::new(NaiveDate::MIN, Decimal::from(22), products).err(),
            Some(CatalogError::Duplicate("fe".into()))
        );
        let products: Vec<Product> = fixtures::catalog().products().cloned().collect();
        assert!(matches!(
            Catalog::new(NaiveDate::MIN, Decimal::from(101), products),
            Err(CatalogError::BadVatRate(_))
        ));
    }

    #[test]
    fn a_requirement_must_be_another_addon() {
        let mut products: Vec<Product> = fixtures::catalog().products().cloned().collect();
        products[4].requires = vec![ProductCode("fe".into())];
        assert!(matches!(
            Catalog::new(NaiveDate::MIN, Decimal::from(22), products),
            Err(CatalogError::Inconsistent { .. })
        ));
    }
}
