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

/// What a front-end may offer for a module of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleAction {
    /// Buy it ("Attiva", "Acquista", "Aggiungi modulo").
    Purchase,
    /// Run "Abbina anagrafiche e fatture" first.
    RunMatching,
    /// Start the module's activation wizard.
    StartWizard,
    /// Resume a wizard left half-way.
    ResumeWizard,
    /// Use the module.
    Open,
}

impl ModuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleAction::Purchase => "purchase",
            ModuleAction::RunMatching => "run_matching",
            ModuleAction::StartWizard => "start_wizard",
            ModuleAction::ResumeWizard => "resume_wizard",
            ModuleAction::Open => "open",
        }
    }
}

/// A module of a service as the front-ends show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleProgress {
    /// Not bought; may be.
    Available,
    /// In an unpaid order.
    PendingPayment,
    /// Bought: its state.
    Installed(ModuleState),
}

impl ModuleProgress {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleProgress::Available => "available",
            ModuleProgress::PendingPayment => "pending_payment",
            ModuleProgress::Installed(state) => state.as_str(),
        }
    }
}

/// The state and actions of one module of a service (product.md section 1,
/// case 2): a module bought for an existing FE needs the matching procedure
/// first unless it was ever completed on the service; one bought together
/// with its FE does not.
pub fn module_progress(
    installed: Option<(ModuleState, bool)>,
    pending: bool,
    service_usable: bool,
    matching_completed: bool,
) -> (ModuleProgress, Vec<ModuleAction>) {
    let (progress, actions) =
        module_progress_of(installed, pending, service_usable, matching_completed);
    // An expired, suspended or cancelled base offers nothing to do.
    (progress, if service_usable { actions } else { vec![] })
}

fn module_progress_of(
    installed: Option<(ModuleState, bool)>,
    pending: bool,
    service_usable: bool,
    matching_completed: bool,
) -> (ModuleProgress, Vec<ModuleAction>) {
    match installed {
        None if pending => (ModuleProgress::PendingPayment, vec![]),
        None if service_usable => (ModuleProgress::Available, vec![ModuleAction::Purchase]),
        None => (ModuleProgress::Available, vec![]),
        Some((ModuleState::Purchased | ModuleState::MatchingRequired, bought_with_base)) => {
            if bought_with_base || matching_completed {
                (
                    ModuleProgress::Installed(ModuleState::WizardPending),
                    vec![ModuleAction::StartWizard],
                )
            } else {
                (
                    ModuleProgress::Installed(ModuleState::MatchingRequired),
                    vec![ModuleAction::RunMatching],
                )
            }
        }
        Some((ModuleState::WizardPending, _)) => (
            ModuleProgress::Installed(ModuleState::WizardPending),
            vec![ModuleAction::StartWizard],
        ),
        Some((ModuleState::Configuring, _)) => {
            (ModuleProgress::Installed(ModuleState::Configuring), vec![])
        }
        Some((ModuleState::Active, _)) => (
            ModuleProgress::Installed(ModuleState::Active),
            vec![ModuleAction::Open],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bought_with_fe_skips_the_matching_procedure() {
        let (progress, actions) =
            module_progress(Some((ModuleState::Purchased, true)), false, true, false);
        assert_eq!(progress.as_str(), "wizard_pending");
        assert_eq!(actions, vec![ModuleAction::StartWizard]);
    }

    #[test]
    fn bought_later_needs_matching_unless_done_before() {
        let (progress, actions) =
            module_progress(Some((ModuleState::Purchased, false)), false, true, false);
        assert_eq!(progress.as_str(), "matching_required");
        assert_eq!(actions, vec![ModuleAction::RunMatching]);
        let (_, actions) =
            module_progress(Some((ModuleState::Purchased, false)), false, true, true);
        assert_eq!(actions, vec![ModuleAction::StartWizard]);
    }

    #[test]
    fn an_unusable_base_offers_no_action() {
        let (progress, actions) =
            module_progress(Some((ModuleState::Active, true)), false, false, true);
        assert_eq!(progress.as_str(), "active");
        assert!(actions.is_empty());
    }

    #[test]
    fn available_pending_and_active() {
        assert_eq!(
            module_progress(None, false, true, false).1,
            vec![ModuleAction::Purchase]
        );
        assert_eq!(module_progress(None, false, false, false).1, vec![]);
        assert_eq!(
            module_progress(None, true, true, false).0.as_str(),
            "pending_payment"
        );
        assert_eq!(
            module_progress(Some((ModuleState::Active, false)), false, true, false).1,
            vec![ModuleAction::Open]
        );
    }
}
