//! Attiva's business rules: catalog, eligibility, pricing, the states of
//! carts and orders with their transitions, the payment decision, the FE
//! configuration wizard, and the value types they speak in. Pure: no I/O, no web or database crate, no other
//! crate of this workspace.

pub mod audience;
pub mod cart;
pub mod catalog;
pub mod contact;
pub mod credentials;
pub mod eligibility;
pub mod email;
pub mod fatturapa;
pub mod fields;
pub mod holder;
pub mod money;
pub mod order;
pub mod password;
pub mod payment;
pub mod place;
pub mod pricing;
pub mod service;
pub mod tax_id;
pub mod wizard;

pub use audience::Audience;
pub use cart::{CartLine, CartNotOpen, CartStatus, Channel};
pub use catalog::{Bounds, Catalog, CatalogError, Category, Product, ProductCode, ProductPrices};
pub use eligibility::{Buyer, Violation, ViolationCode, check};
pub use email::{EmailAddress, EmailError};
pub use fields::{FieldCode, FieldError};
pub use holder::{Holder, HolderFieldError, HolderInput, HolderKind};
pub use money::Money;
pub use order::{OrderStatus, OrderTransition, TransitionError};
pub use password::{NewPassword, PasswordError, PasswordPolicy, temporary_password_from_entropy};
pub use payment::{PayableOrder, PaymentDecision, PaymentMethod, PaymentSource, ReceivedPayment};
pub use pricing::{PriceContext, PricedCart, PricedLine, Totals, price};
pub use service::{
    ModuleAction, ModuleProgress, ModuleState, OwnedModule, OwnedService, ServiceStatus,
    module_progress,
};
pub use tax_id::{CodiceFiscale, CodiceFiscaleError, PartitaIva, PartitaIvaError};
pub use wizard::{
    SetupIncomplete, SetupStatus, Step, StepData, StepOutOfOrder, check_complete, check_order,
    next_step,
};
