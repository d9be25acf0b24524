//! Prices a cart: one priced line per cart line (plus a base-extension line
//! where co-termination extends an owned FE), IVA per line rounded half-up to
//! the cent, totals that are the sums of the lines.

use crate::cart::CartLine;
use crate::catalog::{Catalog, Product};
use crate::eligibility::Buyer;
use crate::money::Money;
use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Why a line costs what it costs: the purchase context, kept on each order
/// line (`context`) and read back by fulfilment (a base makes a service, an
/// add-on with it a module of that service, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceContext {
    /// A new base service.
    Base,
    /// An add-on bought with a new base in the same cart.
    WithNewBase,
    /// An add-on bought for a base service the buyer owns.
    OnExistingBase,
    /// The pro rata extension of an owned base (co-termination).
    BaseExtension,
}

impl PriceContext {
    pub const ALL: [PriceContext; 4] = [
        PriceContext::Base,
        PriceContext::WithNewBase,
        PriceContext::OnExistingBase,
        PriceContext::BaseExtension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceContext::Base => "base",
            PriceContext::WithNewBase => "with_new_base",
            PriceContext::OnExistingBase => "on_existing_base",
            PriceContext::BaseExtension => "base_extension",
        }
    }

    pub fn parse(text: &str) -> Option<PriceContext> {
        PriceContext::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The cart line this comes from (a base extension shares its add-on's id).
    pub item_id: Uuid,
    pub product_code: String,
    pub description: String,
    pub context: PriceContext,
    /// Net price of one unit for one year.
    pub unit_price: Money,
    pub quantity: u32,
    pub years: u32,
    /// Base extensions: the days added to the base.
    pub days: Option<i64>,
    /// Where the line's service or module ends, when known.
    pub ends_on: Option<NaiveDate>,
    pub net: Money,
    pub vat_rate: Decimal,
    pub vat: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub net: Money,
    pub vat: Money,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

const DAYS_PER_YEAR: i64 = 365;

fn priced(
    line: &CartLine,
    product: &Product,
    context: PriceContext,
    unit_price: Money,
    years: u32,
    vat_rate: Decimal,
) -> PricedLine {
    let net = (unit_price * line.quantity * years).rounded();
    finish(PricedLine {
        item_id: line.id,
        product_code: product.code.to_string(),
        description: product.name.clone(),
        context,
        unit_price,
        quantity: line.quantity,
        years,
        days: None,
        ends_on: None,
        net,
        vat_rate,
        vat: Money::ZERO,
        total: Money::ZERO,
    })
}

/// IVA on the rounded net, rounded half-up; total = net + IVA.
fn finish(mut line: PricedLine) -> PricedLine {
    line.net = line.net.rounded();
    line.vat = (line.net * (line.vat_rate / Decimal::ONE_HUNDRED)).rounded();
    line.total = line.net + line.vat;
    line
}

/// Prices every line whose product is known; rule violations do not stop
/// pricing (the cart shows both), so an add-on without a resolvable base is
/// priced as if bought on an existing base, for one year.
pub fn price(lines: &[CartLine], catalog: &Catalog, buyer: &Buyer, today: NaiveDate) -> PricedCart {
    let vat_rate = catalog.vat_rate();
    let mut priced_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let Some(product) = catalog.get(&line.product_code) else {
            continue;
        };
        if !product.is_addon() {
            priced_lines.push(priced(
                line,
                product,
                PriceContext::Base,
                product.prices.with_new_base,
                line.years_or_one(),
                vat_rate,
            ));
            continue;
        }
        let existing_price = product
            .prices
            .on_existing_base
            .unwrap_or(product.prices.with_new_base);
        let base_line = line
            .base_item_id
            .and_then(|id| lines.iter().find(|l| l.id == id));
        if let Some(base) = base_line {
            priced_lines.push(priced(
                line,
                product,
                PriceContext::WithNewBase,
                product.prices.with_new_base,
                base.years_or_one(),
                vat_rate,
            ));
            continue;
        }
        let service = line.target_service_id.and_then(|id| buyer.service(id));
        let mut addon = priced(
            line,
            product,
            PriceContext::OnExistingBase,
            existing_price,
            1,
            vat_rate,
        );
        let Some(service) = service else {
            priced_lines.push(addon);
            continue;
        };
        // Co-termination: the add-on ends with its base; with the extension
        // on, the base is extended (pro rata per day) so the add-on gets a
        // full year.
        let full_year = today.checked_add_months(Months::new(12)).unwrap_or(today);
        let extension_days = (full_year - service.expires_on).num_days();
        if line.extend_base && extension_days > 0 {
            addon.ends_on = Some(full_year);
            priced_lines.push(addon);
            if let Some(base) = catalog.get(service.product_code.as_str()) {
                let yearly = base.prices.with_new_base;
                priced_lines.push(finish(PricedLine {
                    item_id: line.id,
                    product_code: base.code.to_string(),
                    description: format!(
                        "Estensione {} dal {} al {} ({} giorni)",
                        base.name, service.expires_on, full_year, extension_days
                    ),
                    context: PriceContext::BaseExtension,
                    unit_price: yearly,
                    quantity: 1,
                    years: 0,
                    days: Some(extension_days),
                    ends_on: Some(full_year),
                    net: yearly.pro_rata(extension_days, DAYS_PER_YEAR),
                    vat_rate,
                    vat: Money::ZERO,
                    total: Money::ZERO,
                }));
            }
        } else {
            addon.ends_on = Some(service.expires_on);
            priced_lines.push(addon);
        }
    }
    let totals = Totals {
        net: priced_lines.iter().map(|l| l.net).sum(),
        vat: priced_lines.iter().map(|l| l.vat).sum(),
        total: priced_lines.iter().map(|l| l.total).sum(),
    };
    PricedCart {
        lines: priced_lines,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ProductCode, fixtures::catalog};
    use crate::eligibility::{ViolationCode, check};
    use crate::service::{OwnedService, ServiceStatus};
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
    }

    #[test]
    fn contexts_read_back_as_written() {
        for context in PriceContext::ALL {
            assert_eq!(PriceContext::parse(context.as_str()), Some(context));
        }
        assert_eq!(PriceContext::parse("addon"), None);
    }

    fn line(code: &str) -> CartLine {
        CartLine {
            id: Uuid::new_v4(),
            product_code: code.to_owned(),
            years: None,
            quantity: 1,
            base_item_id: None,
            target_service_id: None,
            extend_base: true,
        }
    }

    fn owned_fe(expires_in_days: u64) -> OwnedService {
        OwnedService {
            id: Uuid::new_v4(),
            product_code: ProductCode::parse("fe").unwrap_or_else(|_| panic!()),
            status: ServiceStatus::Active,
            expires_on: today() + chrono::Days::new(expires_in_days),
            modules: vec![],
            pending_addons: vec![],
        }
    }

    #[test]
    fn incassi_pagamenti_is_free_with_a_new_fe() {
        let mut fe = line("fe");
        fe.years = Some(2);
        let ip = CartLine {
            base_item_id: Some(fe.id),
            ..line("incassi-pagamenti")
        };
        let cart = price(&[fe, ip], &catalog(), &Buyer::default(), today());
        let amounts: Vec<(String, String, String)> = cart
            .lines
            .iter()
            .map(|l| (l.net.to_string(), l.vat.to_string(), l.total.to_string()))
            .collect();
        assert_eq!(
            amounts,
            vec![
                ("50.00".into(), "11.00".into(), "61.00".into()),
                ("0.00".into(), "0.00".into(), "0.00".into())
            ]
        );
        assert_eq!(cart.lines[1].context, PriceContext::WithNewBase);
        assert_eq!(cart.totals.total.to_string(), "61.00");
    }

    #[test]
    fn iva_is_rounded_half_up_per_line() {
        // 5.00 × 3 = 15.00 → IVA 3.30; 0.05 × 22% = 0.011 → 0.01 and 0.25 →
        // 0.055 → 0.06 (half-up).
        let net = Money::parse("0.25").unwrap_or_default();
        let line = finish(PricedLine {
            item_id: Uuid::nil(),
            product_code: "x".into(),
            description: String::new(),
            context: PriceContext::Base,
            unit_price: net,
            quantity: 1,
            years: 1,
            days: None,
            ends_on: None,
            net,
            vat_rate: Decimal::from(22),
            vat: Money::ZERO,
            total: Money::ZERO,
        });
        assert_eq!(line.vat.to_string(), "0.06");
        assert_eq!(line.total.to_string(), "0.31");
    }

    #[test]
    fn an_addon_for_an_owned_fe_extends_it_pro_rata() {
        let service = owned_fe(100);
        let ip = CartLine {
            target_service_id: Some(service.id),
            ..line("incassi-pagamenti")
        };
        let buyer = Buyer {
            services: vec![service],
            ..Buyer::default()
        };
        let cart = price(&[ip], &catalog(), &buyer, today());
        assert_eq!(cart.lines.len(), 2);
        let (addon, extension) = (&cart.lines[0], &cart.lines[1]);
        assert_eq!(addon.net.to_string(), "29.00");
        assert_eq!(addon.context, PriceContext::OnExistingBase);
        assert_eq!(extension.context, PriceContext::BaseExtension);
        // 2026-11-28 + 12 months = 2027-11-28; the FE ends 2027-03-08:
        // 265 days of a 25.00 year = 18.150684… → 18.15.
        assert_eq!(extension.days, Some(265));
        assert_eq!(extension.net.to_string(), "18.15");
        assert_eq!(extension.vat.to_string(), "3.99");
        assert_eq!(addon.ends_on, NaiveDate::from_ymd_opt(2027, 11, 28));
        assert_eq!(cart.totals.total.to_string(), "57.52");
    }

    #[test]
    fn without_extension_the_addon_ends_with_the_fe_at_full_price() {
        let service = owned_fe(100);
        let expiry = service.expires_on;
        let ip = CartLine {
            target_service_id: Some(service.id),
            extend_base: false,
            ..line("incassi-pagamenti")
        };
        let buyer = Buyer {
            services: vec![service],
            ..Buyer::default()
        };
        let cart = price(&[ip], &catalog(), &buyer, today());
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.lines[0].net.to_string(), "29.00");
        assert_eq!(cart.lines[0].ends_on, Some(expiry));
    }

    #[test]
    fn a_long_lived_fe_needs_no_extension() {
        let service = owned_fe(800);
        let ip = CartLine {
            target_service_id: Some(service.id),
            ..line("incassi-pagamenti")
        };
        let buyer = Buyer {
            services: vec![service],
            ..Buyer::default()
        };
        assert_eq!(price(&[ip], &catalog(), &buyer, today()).lines.len(), 1);
    }

    #[test]
    fn quantities_and_years_multiply() {
        let mut fe = line("fe");
        fe.years = Some(3);
        let space = CartLine {
            base_item_id: Some(fe.id),
            quantity: 4,
            ..line("spazio-1gb")
        };
        let cart = price(&[fe, space], &catalog(), &Buyer::default(), today());
        assert_eq!(cart.lines[1].net.to_string(), "60.00");
        assert_eq!(cart.totals.net.to_string(), "135.00");
    }

    const CODES: [&str; 7] = [
        "fe",
        "fe-solo-ricezione",
        "incassi-pagamenti",
        "documenti",
        "woocommerce",
        "spazio-1gb",
        "unknown",
    ];

    prop_compose! {
        fn arb_cart()(specs in prop::collection::vec(
            (0..CODES.len(), 0u32..12, 0u32..60, prop::option::of(0usize..8), any::<bool>(), any::<bool>()),
            0..8,
        ), expiry in 0u64..900) -> (Vec<CartLine>, Buyer) {
            let service = owned_fe(expiry);
            let mut lines: Vec<CartLine> = Vec::new();
            for (code, years, quantity, base, to_service, extend) in specs {
                let base_item_id = base.and_then(|i| lines.get(i)).map(|l: &CartLine| l.id);
                lines.push(CartLine {
                    id: Uuid::new_v4(),
                    product_code: CODES[code].to_owned(),
                    years: (years > 0).then_some(years),
                    quantity,
                    base_item_id,
                    target_service_id: to_service.then_some(service.id),
                    extend_base: extend,
                });
            }
            (lines, Buyer { services: vec![service], ..Buyer::default() })
        }
    }

    proptest! {
        #[test]
        fn totals_always_equal_the_sum_of_the_lines((lines, buyer) in arb_cart()) {
            let cart = price(&lines, &catalog(), &buyer, today());
            let net: Money = cart.lines.iter().map(|l| l.net).sum();
            let vat: Money = cart.lines.iter().map(|l| l.vat).sum();
            prop_assert_eq!(cart.totals.net, net);
            prop_assert_eq!(cart.totals.vat, vat);
            prop_assert_eq!(cart.totals.total, net + vat);
            for line in &cart.lines {
                prop_assert_eq!(line.total, line.net + line.vat);
                prop_assert_eq!(line.net, line.net.rounded());
                prop_assert_eq!(line.vat, line.vat.rounded());
            }
        }

        #[test]
        fn no_cart_with_an_addon_without_a_base_ever_passes((lines, buyer) in arb_cart()) {
            let violations = check(&lines, &catalog(), &buyer, today());
            let cat = catalog();
            for line in &lines {
                let is_addon = cat.get(&line.product_code).is_some_and(|p| p.is_addon());
                let has_base = line.base_item_id.is_some_and(|id| {
                    lines.iter().any(|l| l.id == id && cat.get(&l.product_code).is_some_and(|p| !p.is_addon()))
                }) || line.target_service_id.is_some();
                if is_addon && !has_base {
                    prop_assert!(violations.iter().any(|v| v.line_id == line.id && v.code == ViolationCode::AddonRequiresBase));
                }
            }
        }

        #[test]
        fn an_addon_never_passes_on_fe_solo_ricezione(years in 1u32..=10, code in 2usize..6) {
            let base = CartLine { years: Some(years), ..line("fe-solo-ricezione") };
            let addon = CartLine { base_item_id: Some(base.id), ..line(CODES[code]) };
            let violations = check(&[base, addon.clone()], &catalog(), &Buyer::default(), today());
            prop_assert!(violations.iter().any(|v| v.line_id == addon.id && v.code == ViolationCode::AddonNotAvailableOnBase));
        }
    }
}
