//! Attiva's business rules: catalog, eligibility, pricing, and the value
//! types they speak in. Pure: no I/O, no web or database crate, no other
//! crate of this workspace.

pub mod cart;
pub mod catalog;
pub mod credentials;
pub mod eligibility;
pub mod holder;
pub mod money;
pub mod password;
pub mod pricing;
pub mod service;
pub mod tax_id;

pub use cart::{CartLine, Channel};
pub use catalog::{Bounds, Catalog, CatalogError, Category, Product, ProductCode, ProductPrices};
pub use eligibility::{Buyer, Violation, ViolationCode, check};
pub use holder::{Holder, HolderFieldError, HolderInput, HolderKind};
pub use money::Money;
pub use password::{NewPassword, PasswordError, PasswordPolicy, temporary_password_from_entropy};
pub use pricing::{PricedCart, PricedLine, Totals, price};
pub use service::{
    ModuleAction, ModuleProgress, ModuleState, OwnedModule, OwnedService, ServiceStatus,
    module_progress,
};
pub use tax_id::{CodiceFiscale, CodiceFiscaleError, PartitaIva, PartitaIvaError};
