//! The add-on and base rules of product.md section 2, as one function that
//! returns every violation, in rule order, each with a stable code and the
//! line it is about (Kill Bill's ordered checks).

use crate::cart::CartLine;
use crate::catalog::{Catalog, Product};
use crate::service::OwnedService;
use chrono::NaiveDate;
use std::fmt;
use uuid::Uuid;

/// Stable machine codes; the API shows them as they are spelled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationCode {
    /// The line's product is not in the catalog in force.
    UnknownProduct,
    /// Rule 1: an add-on points to no base line and no owned base (or to
    /// both at once).
    AddonRequiresBase,
    /// Rule 1: a base line names a base of its own.
    BaseCannotAttach,
    /// Rule 2: the base is not one the add-on is available on.
    AddonNotAvailableOnBase,
    /// Rule 3: the target service is not one of the buyer's.
    TargetServiceNotFound,
    /// Rule 3: the target service is expired, cancelled or suspended.
    TargetServiceNotActive,
    /// Rule 4: the module is already on the base, pending in another unpaid
    /// order, or twice in this cart.
    AddonAlreadyPresent,
    /// Rule 5: a required add-on is neither owned nor in the cart.
    AddonRequiresAddon,
    /// Rule 6: one FE per holder tax id.
    OneFePerHolder,
    /// A base that needs a Partita IVA, for a holder without one.
    BaseRequiresPartitaIva,
    /// Rule 7: years outside the catalog's bounds.
    YearsOutOfBounds,
    /// Rule 7: quantity outside the catalog's bounds.
    QuantityOutOfBounds,
}

impl ViolationCode {
    pub const ALL: [ViolationCode; 12] = [
        ViolationCode::UnknownProduct,
        ViolationCode::AddonRequiresBase,
        ViolationCode::BaseCannotAttach,
        ViolationCode::AddonNotAvailableOnBase,
        ViolationCode::TargetServiceNotFound,
        ViolationCode::TargetServiceNotActive,
        ViolationCode::AddonAlreadyPresent,
        ViolationCode::AddonRequiresAddon,
        ViolationCode::OneFePerHolder,
        ViolationCode::BaseRequiresPartitaIva,
        ViolationCode::YearsOutOfBounds,
        ViolationCode::QuantityOutOfBounds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::UnknownProduct => "unknown_product",
            ViolationCode::AddonRequiresBase => "addon_requires_base",
            ViolationCode::BaseCannotAttach => "base_cannot_attach",
            ViolationCode::AddonNotAvailableOnBase => "addon_not_available_on_base",
            ViolationCode::TargetServiceNotFound => "target_service_not_found",
            ViolationCode::TargetServiceNotActive => "target_service_not_active",
            ViolationCode::AddonAlreadyPresent => "addon_already_present",
            ViolationCode::AddonRequiresAddon => "addon_requires_addon",
            ViolationCode::OneFePerHolder => "one_fe_per_holder",
            ViolationCode::BaseRequiresPartitaIva => "base_requires_partita_iva",
            ViolationCode::YearsOutOfBounds => "years_out_of_bounds",
            ViolationCode::QuantityOutOfBounds => "quantity_out_of_bounds",
        }
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: ViolationCode,
    /// The offending cart line.
    pub line_id: Uuid,
    /// A sentence for people (Italian where the real service shows one).
    pub detail: String,
}

/// What the rules need to know about the buyer. An anonymous cart has no
/// services and no holder yet.
#[derive(Debug, Clone, Default)]
pub struct Buyer {
    /// The buyer's own base services, in any state.
    pub services: Vec<OwnedService>,
    /// The holder's tax id already has an FE (anyone's).
    pub holder_has_fe: bool,
    /// `Some(false)` when the holder is known and has no Partita IVA.
    pub holder_has_partita_iva: Option<bool>,
}

impl Buyer {
    pub fn service(&self, id: Uuid) -> Option<&OwnedService> {
        self.services.iter().find(|s| s.id == id)
    }
}

/// The base an add-on line hangs on, once resolved.
enum BaseRef<'a> {
    Line(&'a CartLine, &'a Product),
    Service(&'a OwnedService),
}

impl BaseRef<'_> {
    fn product_code(&self) -> &str {
        match self {
            BaseRef::Line(_, product) => product.code.as_str(),
            BaseRef::Service(service) => service.product_code.as_str(),
        }
    }

    /// A key identifying the base, for "twice on the same base".
    fn key(&self) -> Uuid {
        match self {
            BaseRef::Line(line, _) => line.id,
            BaseRef::Service(service) => service.id,
        }
    }
}

/// Every violation of the cart, rule by rule (1 to 7), lines in cart order.
pub fn check(
    lines: &[CartLine],
    catalog: &Catalog,
    buyer: &Buyer,
    today: NaiveDate,
) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut report = |code: ViolationCode, line: &CartLine, detail: String| {
        found.push(Violation {
            code,
            line_id: line.id,
            detail,
        });
    };

    let known: Vec<(&CartLine, &Product)> = lines
        .iter()
        .filter_map(|line| catalog.get(&line.product_code).map(|p| (line, p)))
        .collect();
    for line in lines {
        if catalog.get(&line.product_code).is_none() {
            report(
                ViolationCode::UnknownProduct,
                line,
                format!("`{}` is not in the catalog", line.product_code),
            );
        }
    }

    // Rule 1: resolve each add-on's base; an unresolvable one is a violation.
    // A base line never hangs on another base.
    for &(line, product) in known.iter().filter(|(_, p)| !p.is_addon()) {
        if line.base_item_id.is_some() || line.target_service_id.is_some() {
            report(
                ViolationCode::BaseCannotAttach,
                line,
                format!(
                    "{} is a base service and cannot hang on another base",
                    product.name
                ),
            );
        }
    }
    let mut addons: Vec<(&CartLine, &Product, BaseRef<'_>)> = Vec::new();
    let mut unresolved_targets: Vec<(&CartLine, Uuid)> = Vec::new();
    for &(line, product) in known.iter().filter(|(_, p)| p.is_addon()) {
        let base = match (line.base_item_id, line.target_service_id) {
            (Some(_), Some(_)) => {
                report(
                    ViolationCode::AddonRequiresBase,
                    line,
                    format!(
                        "{} must name one base: base_item_id or target_service_id, not both",
                        product.name
                    ),
                );
                continue;
            }
            (Some(base_id), None) => known
                .iter()
                .find(|(l, p)| l.id == base_id && !p.is_addon())
                .map(|&(l, p)| BaseRef::Line(l, p)),
            (None, Some(service_id)) => match buyer.service(service_id) {
                Some(service) => Some(BaseRef::Service(service)),
                None => {
                    unresolved_targets.push((line, service_id));
                    continue;
                }
            },
            (None, None) => None,
        };
        match base {
            Some(base) => addons.push((line, product, base)),
            None => report(
                ViolationCode::AddonRequiresBase,
                line,
                format!(
                    "{} non può essere acquistato singolarmente: indicare il servizio base",
                    product.name
                ),
            ),
        }
    }

    // Rule 2: the base must be one the add-on is available on.
    addons.retain(|(line, product, base)| {
        let available = product
            .available_on
            .iter()
            .any(|code| code.as_str() == base.product_code());
        if !available {
            report(
                ViolationCode::AddonNotAvailableOnBase,
                line,
                format!(
                    "{} is not available on `{}`",
                    product.name,
                    base.product_code()
                ),
            );
        }
        available
    });

    // Rule 3: an owned target base must be the buyer's and active.
    for (line, service_id) in &unresolved_targets {
        report(
            ViolationCode::TargetServiceNotFound,
            line,
            format!("service {service_id} is not one of yours"),
        );
    }
    addons.retain(|(line, _, base)| match base {
        BaseRef::Service(service) if !service.is_active_on(today) => {
            report(
                ViolationCode::TargetServiceNotActive,
                line,
                format!(
                    "service {} is {} and cannot receive add-ons",
                    service.id,
                    if service.expires_on < today {
                        "expired"
                    } else {
                        service.status.as_str()
                    }
                ),
            );
            false
        }
        _ => true,
    });

    // Rule 4: one instance of a module per base.
    let mut seen: Vec<(Uuid, &str)> = Vec::new();
    for (line, product, base) in &addons {
        let code = product.code.as_str();
        let reason = if seen.contains(&(base.key(), code)) {
            Some("is already in this cart for the same base")
        } else if let BaseRef::Service(service) = base {
            if service.has_module(code) {
                Some("is already on this service")
            } else if service.has_pending(code) {
                Some("is already in another unpaid order for this service")
            } else {
                None
            }
        } else {
            None
        };
        seen.push((base.key(), code));
        if let Some(reason) = reason {
            report(
                ViolationCode::AddonAlreadyPresent,
                line,
                format!("{} {reason}", product.name),
            );
        }
    }

    // Rule 5: required add-ons, owned or in the cart on the same base.
    for (line, product, base) in &addons {
        for required in &product.requires {
            let in_cart = addons
                .iter()
                .any(|(_, p, b)| p.code == *required && b.key() == base.key());
            let owned = match base {
                BaseRef::Service(service) => {
                    service.has_module(required.as_str()) || service.has_pending(required.as_str())
                }
                BaseRef::Line(..) => false,
            };
            if !in_cart && !owned {
                report(
                    ViolationCode::AddonRequiresAddon,
                    line,
                    format!("{} requires `{required}` on the same base", product.name),
                );
            }
        }
    }

    // Rule 6: one FE per holder tax id; and a Partita IVA where the base needs one.
    let mut fe_lines = 0;
    for &(line, product) in known.iter().filter(|(_, p)| !p.is_addon()) {
        if product.requires_partita_iva {
            fe_lines += 1;
            if buyer.holder_has_fe || fe_lines > 1 {
                report(
                    ViolationCode::OneFePerHolder,
                    line,
                    "Fatturazione elettronica è già attivo su questo codice fiscale o partita IVA"
                        .to_owned(),
                );
            }
            if buyer.holder_has_partita_iva == Some(false) {
                report(
                    ViolationCode::BaseRequiresPartitaIva,
                    line,
                    format!("{} requires a holder with a Partita IVA", product.name),
                );
            }
        }
    }

    // Rule 7: bounds.
    for &(line, product) in &known {
        let years = line.years_or_one();
        if !product.years.contains(years) {
            report(
                ViolationCode::YearsOutOfBounds,
                line,
                format!(
                    "years must be between {} and {}",
                    product.years.min, product.years.max
                ),
            );
        }
        if !product.quantity.contains(line.quantity) {
            report(
                ViolationCode::QuantityOutOfBounds,
                line,
                format!(
                    "quantity must be between {} and {}",
                    product.quantity.min, product.quantity.max
                ),
            );
        }
    }

    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ProductCode, fixtures::catalog};
    use crate::service::{ModuleState, OwnedModule, ServiceStatus};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default()
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

    fn on(code: &str, base: &CartLine) -> CartLine {
        CartLine {
            base_item_id: Some(base.id),
            ..line(code)
        }
    }

    fn for_service(code: &str, service: &OwnedService) -> CartLine {
        CartLine {
            target_service_id: Some(service.id),
            ..line(code)
        }
    }

    fn service(code: &str, status: ServiceStatus) -> OwnedService {
        OwnedService {
            id: Uuid::new_v4(),
            product_code: ProductCode::parse(code).unwrap_or_else(|_| panic!("{code}")),
            status,
            expires_on: today() + chrono::Days::new(100),
            modules: vec![],
            pending_addons: vec![],
        }
    }

    fn codes(lines: &[CartLine], buyer: &Buyer) -> Vec<(ViolationCode, Uuid)> {
        check(lines, &catalog(), buyer, today())
            .into_iter()
            .map(|v| (v.code, v.line_id))
            .collect()
    }

    #[test]
    fn fe_with_incassi_pagamenti_is_eligible() {
        let fe = line("fe");
        let ip = on("incassi-pagamenti", &fe);
        assert_eq!(codes(&[fe, ip], &Buyer::default()), vec![]);
    }

    #[test]
    fn unknown_products_are_reported() {
        let thing = line("nope");
        assert_eq!(
            codes(std::slice::from_ref(&thing), &Buyer::default()),
            vec![(ViolationCode::UnknownProduct, thing.id)]
        );
    }

    #[test]
    fn rule_1_an_addon_alone_requires_a_base() {
        let ip = line("incassi-pagamenti");
        assert_eq!(
            codes(std::slice::from_ref(&ip), &Buyer::default()),
            vec![(ViolationCode::AddonRequiresBase, ip.id)]
        );
    }

    #[test]
    fn rule_1_an_addon_pointing_at_another_addon_has_no_base() {
        let fe = line("fe");
        let docs = on("documenti", &fe);
        let woo = on("woocommerce", &docs);
        assert_eq!(
            codes(&[fe, docs, woo.clone()], &Buyer::default()),
            vec![(ViolationCode::AddonRequiresBase, woo.id)]
        );
    }

    #[test]
    fn rule_1_an_addon_names_one_base_and_a_base_names_none() {
        let fe = line("fe");
        let owned = service("fe", ServiceStatus::Active);
        let both = CartLine {
            target_service_id: Some(owned.id),
            ..on("incassi-pagamenti", &fe)
        };
        let nested = on("fe-solo-ricezione", &fe);
        let buyer = Buyer {
            services: vec![owned],
            ..Buyer::default()
        };
        assert_eq!(
            codes(&[fe, both.clone(), nested.clone()], &buyer),
            vec![
                (ViolationCode::BaseCannotAttach, nested.id),
                (ViolationCode::AddonRequiresBase, both.id),
            ]
        );
    }

    #[test]
    fn rule_1_a_base_item_missing_from_the_cart_is_no_base() {
        let gone = line("fe");
        let ip = on("incassi-pagamenti", &gone);
        assert_eq!(
            codes(std::slice::from_ref(&ip), &Buyer::default()),
            vec![(ViolationCode::AddonRequiresBase, ip.id)]
        );
    }

    #[test]
    fn rule_2_no_addon_on_fe_solo_ricezione() {
        let base = line("fe-solo-ricezione");
        let ip = on("incassi-pagamenti", &base);
        assert_eq!(
            codes(&[base, ip.clone()], &Buyer::default()),
            vec![(ViolationCode::AddonNotAvailableOnBase, ip.id)]
        );
        let owned = service("fe-solo-ricezione", ServiceStatus::Active);
        let ip = for_service("incassi-pagamenti", &owned);
        let buyer = Buyer {
            services: vec![owned],
            ..Buyer::default()
        };
        assert_eq!(
            codes(std::slice::from_ref(&ip), &buyer),
            vec![(ViolationCode::AddonNotAvailableOnBase, ip.id)]
        );
    }

    #[test]
    fn rule_3_the_target_must_be_owned_and_active() {
        let stranger = service("fe", ServiceStatus::Active);
        let ip = for_service("incassi-pagamenti", &stranger);
        assert_eq!(
            codes(std::slice::from_ref(&ip), &Buyer::default()),
            vec![(ViolationCode::TargetServiceNotFound, ip.id)]
        );
        for status in [
            ServiceStatus::Expired,
            ServiceStatus::Suspended,
            ServiceStatus::Cancelled,
        ] {
            let owned = service("fe", status);
            let ip = for_service("incassi-pagamenti", &owned);
            let buyer = Buyer {
                services: vec![owned],
                ..Buyer::default()
            };
            assert_eq!(
                codes(std::slice::from_ref(&ip), &buyer),
                vec![(ViolationCode::TargetServiceNotActive, ip.id)],
                "{status:?}"
            );
        }
        let mut past_expiry = service("fe", ServiceStatus::Active);
        past_expiry.expires_on = today() - chrono::Days::new(1);
        let ip = for_service("incassi-pagamenti", &past_expiry);
        let buyer = Buyer {
            services: vec![past_expiry],
            ..Buyer::default()
        };
        assert_eq!(
            codes(std::slice::from_ref(&ip), &buyer),
            vec![(ViolationCode::TargetServiceNotActive, ip.id)]
        );
    }

    #[test]
    fn rule_4_one_instance_of_a_module_per_base() {
        let mut owned = service("fe", ServiceStatus::Active);
        owned.modules.push(OwnedModule {
            code: ProductCode::parse("incassi-pagamenti").unwrap_or_else(|_| panic!()),
            state: ModuleState::Active,
        });
        owned
            .pending_addons
            .push(ProductCode::parse("documenti").unwrap_or_else(|_| panic!()));
        let ip = for_service("incassi-pagamenti", &owned);
        let docs = for_service("documenti", &owned);
        let buyer = Buyer {
            services: vec![owned],
            ..Buyer::default()
        };
        assert_eq!(
            codes(&[ip.clone(), docs.clone()], &buyer),
            vec![
                (ViolationCode::AddonAlreadyPresent, ip.id),
                (ViolationCode::AddonAlreadyPresent, docs.id)
            ]
        );

        let fe = line("fe");
        let first = on("incassi-pagamenti", &fe);
        let second = on("incassi-pagamenti", &fe);
        assert_eq!(
            codes(&[fe, first, second.clone()], &Buyer::default()),
            vec![(ViolationCode::AddonAlreadyPresent, second.id)]
        );
    }

    #[test]
    fn rule_5_woocommerce_requires_documenti() {
        let fe = line("fe");
        let woo = on("woocommerce", &fe);
        assert_eq!(
            codes(&[fe.clone(), woo.clone()], &Buyer::default()),
            vec![(ViolationCode::AddonRequiresAddon, woo.id)]
        );
        let docs = on("documenti", &fe);
        assert_eq!(codes(&[fe, woo, docs], &Buyer::default()), vec![]);

        let mut owned = service("fe", ServiceStatus::Active);
        owned.modules.push(OwnedModule {
            code: ProductCode::parse("documenti").unwrap_or_else(|_| panic!()),
            state: ModuleState::Active,
        });
        let woo = for_service("woocommerce", &owned);
        let buyer = Buyer {
            services: vec![owned],
            ..Buyer::default()
        };
        assert_eq!(codes(&[woo], &buyer), vec![]);
    }

    #[test]
    fn rule_5_documenti_on_another_base_does_not_count() {
        let fe = line("fe");
        let other = line("fe-solo-ricezione");
        let woo = on("woocommerce", &fe);
        let docs = on("documenti", &other);
        let found = codes(&[fe, other, woo.clone(), docs.clone()], &Buyer::default());
        assert_eq!(
            found,
            vec![
                (ViolationCode::AddonNotAvailableOnBase, docs.id),
                (ViolationCode::AddonRequiresAddon, woo.id)
            ]
        );
    }

    #[test]
    fn rule_6_one_fe_per_holder() {
        let fe = line("fe");
        let buyer = Buyer {
            holder_has_fe: true,
            ..Buyer::default()
        };
        let found = check(std::slice::from_ref(&fe), &catalog(), &buyer, today());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, ViolationCode::OneFePerHolder);
        assert!(found[0].detail.contains("già attivo"));

        let again = line("fe");
        assert_eq!(
            codes(&[fe, again.clone()], &Buyer::default()),
            vec![(ViolationCode::OneFePerHolder, again.id)]
        );
    }

    #[test]
    fn fe_needs_a_partita_iva_solo_ricezione_does_not() {
        let fe = line("fe");
        let solo = line("fe-solo-ricezione");
        let buyer = Buyer {
            holder_has_partita_iva: Some(false),
            ..Buyer::default()
        };
        assert_eq!(
            codes(std::slice::from_ref(&fe), &buyer),
            vec![(ViolationCode::BaseRequiresPartitaIva, fe.id)]
        );
        assert_eq!(codes(&[solo], &buyer), vec![]);
    }

    #[test]
    fn rule_7_bounds() {
        let mut fe = line("fe");
        fe.years = Some(11);
        let mut space = on("spazio-1gb", &fe);
        space.quantity = 51;
        let mut ip = on("incassi-pagamenti", &fe);
        ip.quantity = 2;
        assert_eq!(
            codes(&[fe.clone(), space.clone(), ip.clone()], &Buyer::default()),
            vec![
                (ViolationCode::YearsOutOfBounds, fe.id),
                (ViolationCode::QuantityOutOfBounds, space.id),
                (ViolationCode::QuantityOutOfBounds, ip.id),
            ]
        );
    }

    #[test]
    fn every_violation_is_returned_in_rule_order() {
        let mut fe = line("fe");
        fe.years = Some(0);
        let alone = line("documenti");
        let woo = on("woocommerce", &fe);
        let buyer = Buyer {
            holder_has_fe: true,
            ..Buyer::default()
        };
        let found: Vec<ViolationCode> = check(&[fe, alone, woo], &catalog(), &buyer, today())
            .into_iter()
            .map(|v| v.code)
            .collect();
        assert_eq!(
            found,
            vec![
                ViolationCode::AddonRequiresBase,
                ViolationCode::AddonRequiresAddon,
                ViolationCode::OneFePerHolder,
                ViolationCode::YearsOutOfBounds,
            ]
        );
    }

    #[test]
    fn codes_are_stable_snake_case() {
        for code in ViolationCode::ALL {
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
        assert_eq!(
            ViolationCode::AddonRequiresAddon.as_str(),
            "addon_requires_addon"
        );
    }
}
