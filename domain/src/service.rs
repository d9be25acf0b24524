//! The buyer's existing services and modules, as the rules need them.

use crate::catalog::ProductCode;
use chrono::NaiveDate;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceStatus {
    AwaitingConfiguration,
    Active,
    Expired,
    Suspended,
    Cancelled,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 5] = [
        ServiceStatus::AwaitingConfiguration,
        ServiceStatus::Active,
        ServiceStatus::Expired,
        ServiceStatus::Suspended,
        ServiceStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::AwaitingConfiguration => "awaiting_configuration",
            ServiceStatus::Active => "active",
            ServiceStatus::Expired => "expired",
            ServiceStatus::Suspended => "suspended",
            ServiceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<ServiceStatus> {
        ServiceStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleState {
    Purchased,
    MatchingRequired,
    WizardPending,
    Configuring,
    Active,
}

impl ModuleState {
    pub const ALL: [ModuleState; 5] = [
        ModuleState::Purchased,
        ModuleState::MatchingRequired,
        ModuleState::WizardPending,
        ModuleState::Configuring,
        ModuleState::Active,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModuleState::Purchased => "purchased",
            ModuleState::MatchingRequired => "matching_required",
            ModuleState::WizardPending => "wizard_pending",
            ModuleState::Configuring => "configuring",
            ModuleState::Active => "active",
        }
    }

    pub fn parse(text: &str) -> Option<ModuleState> {
        ModuleState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedModule {
    pub code: ProductCode,
    pub state: ModuleState,
}

/// A base service the buyer owns, with its modules and the add-ons already
/// waiting in another unpaid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedService {
    pub id: Uuid,
    pub product_code: ProductCode,
    pub status: ServiceStatus,
    pub expires_on: NaiveDate,
    pub modules: Vec<OwnedModule>,
    pub pending_addons: Vec<ProductCode>,
}

impl OwnedService {
    /// Usable for a purchase: not expired (by status or by date), cancelled
    /// or suspended.
    pub fn is_active_on(&self, today: NaiveDate) -> bool {
        matches!(
            self.status,
            ServiceStatus::Active | ServiceStatus::AwaitingConfiguration
        ) && self.expires_on >= today
    }

    pub fn has_module(&self, code: &str) -> bool {
        self.modules.iter().any(|m| m.code.as_str() == code)
    }

    pub fn has_pending(&self, code: &str) -> bool {
        self.pending_addons.iter().any(|c| c.as_str() == code)
    }
}
