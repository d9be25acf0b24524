//! Services and their modules as the customer area and the panel show them.

use crate::catalog::view::CatalogView;
use crate::http::problem::ApiError;
use crate::orders::checkout::owned_services;
use chrono::{NaiveDate, Utc};
use domain::{ModuleAction, ModuleProgress, ModuleState, ServiceStatus, module_progress};
use persistence::Database;
use persistence::service::ServiceRecord;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleDto {
    #[schema(example = "incassi-pagamenti")]
    pub code: String,
    #[schema(example = "Incassi e pagamenti")]
    pub name: String,
    /// `available`, `pending_payment`, `purchased`, `matching_required`,
    /// `wizard_pending`, `configuring`, `active`. A module bought for an FE
    /// that awaits its configuration is `purchased`, with no action, until
    /// the FE wizard is completed.
    #[schema(example = "matching_required")]
    pub state: String,
    /// What the front-end may offer: `purchase`, `run_matching`,
    /// `start_wizard`, `resume_wizard`, `open`.
    #[schema(example = json!(["run_matching"]))]
    pub actions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDto {
    pub id: Uuid,
    #[schema(example = "fe")]
    pub product_code: String,
    /// `awaiting_configuration`, `active`, `expired`, `suspended`, `cancelled`.
    #[schema(example = "awaiting_configuration")]
    pub status: String,
    pub expires_on: NaiveDate,
    /// The provider's code for receiving invoices.
    #[schema(example = "KRRH6B9")]
    pub codice_destinatario: String,
    /// The holder's Partita IVA (or Codice Fiscale).
    #[schema(example = "01234567897")]
    pub holder_tax_id: String,
    /// Every add-on available on this base, bought or not.
    pub modules: Vec<ModuleDto>,
}

/// The services as the front-ends show them.
pub async fn service_dtos(
    db: &Database,
    view: &CatalogView,
    services: &[ServiceRecord],
) -> Result<Vec<ServiceDto>, ApiError> {
    let owned = owned_services(db, services).await?;
    let ids: Vec<Uuid> = services.iter().map(|s| s.id).collect();
    let modules = db.orders().modules_of(&ids).await?;
    let today = Utc::now().date_naive();
    Ok(services
        .iter()
        .zip(owned.iter())
        .map(|(record, owned)| {
            let usable = owned.is_active_on(today);
            let matching_completed = record.matching_completed_at.is_some();
            ServiceDto {
                id: record.id,
                product_code: record.product_code.clone(),
                status: if record.expires_on < today
                    && matches!(
                        record.status,
                        domain::ServiceStatus::Active
                            | domain::ServiceStatus::AwaitingConfiguration
                    ) {
                    "expired".to_owned()
                } else {
                    record.status.as_str().to_owned()
                },
                expires_on: record.expires_on,
                codice_destinatario: record.codice_destinatario.clone(),
                holder_tax_id: record.holder_tax_id.clone(),
                modules: view
                    .catalog
                    .products()
                    .filter(|p| {
                        p.is_addon()
                            && p.available_on
                                .iter()
                                .any(|b| b.as_str() == record.product_code)
                    })
                    .map(|product| {
                        let installed = modules
                            .iter()
                            .find(|m| {
                                m.service_id == record.id && m.product_code == product.code.as_str()
                            })
                            .map(|m| (m.state, m.bought_with_base));
                        let (progress, actions) = before_configuration(
                            record.status,
                            module_progress(
                                installed,
                                owned.has_pending(product.code.as_str()),
                                usable,
                                matching_completed,
                            ),
                        );
                        ModuleDto {
                            code: product.code.to_string(),
                            name: product.name.clone(),
                            state: progress.as_str().to_owned(),
                            actions: actions.iter().map(|a| a.as_str().to_owned()).collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect())
}

/// A module bought for an FE that awaits its configuration stays
/// `purchased`, with nothing to do: its matching procedure and its wizard
/// wait for the FE wizard to be completed (issue 10). A module not bought
/// may still be (`purchase`): the add-on purchase stays open.
fn before_configuration(
    status: ServiceStatus,
    (progress, actions): (ModuleProgress, Vec<ModuleAction>),
) -> (ModuleProgress, Vec<ModuleAction>) {
    match progress {
        ModuleProgress::Installed(
            ModuleState::Purchased | ModuleState::MatchingRequired | ModuleState::WizardPending,
        ) if status == ServiceStatus::AwaitingConfiguration => (
            ModuleProgress::Installed(ModuleState::Purchased),
            Vec::new(),
        ),
        _ => (progress, actions),
    }
}
