//! The one gate of the panel's operations that need the FE configured
//! (issue 10 point 4): until the wizard is completed the service is
//! `awaiting_configuration` and they answer 403 `setup_required`. The
//! status, the wizard itself, the password change, the add-on purchase
//! and the add-on activation checklist stay open and do not use it.
//!
//! A handler takes [`ConfiguredPanel`] instead of `PanelSession` (it
//! carries the user and the service it read), or calls
//! [`require_configured`] on a service it already has.

use super::errors::setup_required;
use crate::auth::extract::panel_session_and_service;
use crate::http::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use domain::ServiceStatus;
use persistence::Database;
use persistence::identity::PanelUserRecord;
use persistence::service::ServiceRecord;
use std::future::Future;
use std::pin::Pin;

/// 403 `setup_required` while the service awaits its FE configuration.
/// Other states (expired, suspended, cancelled) are the operation's own
/// concern.
pub fn require_configured(service: &ServiceRecord) -> Result<(), ApiError> {
    if service.status == ServiceStatus::AwaitingConfiguration {
        Err(setup_required())
    } else {
        Ok(())
    }
}

/// A panel user with a full session whose service is configured: what
/// `PanelSession` checks, then [`require_configured`].
#[derive(Debug, Clone)]
pub struct ConfiguredPanel {
    pub user: PanelUserRecord,
    pub service: ServiceRecord,
}

impl FromRequest for ConfiguredPanel {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // The user and its service in one query.
            let (user, service) = panel_session_and_service(&req).await?;
            require_configured(&service)?;
            Ok(ConfiguredPanel { user, service })
        })
    }
}

/// The panel user's service (every panel user has one).
pub async fn panel_service(
    db: &Database,
    user: &PanelUserRecord,
) -> Result<ServiceRecord, ApiError> {
    db.services()
        .find_service(user.service_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("panel user without service")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::codes::ErrorCode;
    use actix_web::http::StatusCode;

    fn service(status: ServiceStatus) -> ServiceRecord {
        ServiceRecord {
            id: uuid::Uuid::new_v4(),
            customer_id: uuid::Uuid::new_v4(),
            product_code: "fe".into(),
            status,
            holder_tax_id: "01234567897".into(),
            codice_destinatario: "KRRH6B9".into(),
            expires_on: chrono::NaiveDate::MIN,
            created_at: chrono::Utc::now(),
            matching_completed_at: None,
        }
    }

    #[test]
    fn only_a_service_awaiting_configuration_is_refused_with_setup_required() {
        let refused = require_configured(&service(ServiceStatus::AwaitingConfiguration)).err();
        assert_eq!(
            refused.as_ref().map(|e| (e.status(), e.code())),
            Some((StatusCode::FORBIDDEN, ErrorCode::SetupRequired))
        );
        assert!(
            refused.is_some_and(|e| e.problem().detail.contains("/v1/panel/setup")),
            "the detail says where to go"
        );
        for status in [
            ServiceStatus::Active,
            ServiceStatus::Expired,
            ServiceStatus::Suspended,
            ServiceStatus::Cancelled,
        ] {
            assert!(require_configured(&service(status)).is_ok(), "{status:?}");
        }
    }
}
