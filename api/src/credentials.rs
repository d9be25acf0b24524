//! Issuing panel credentials for an FE service: the username derived from
//! the holder's tax id, a random temporary password (stored only as a
//! hash, expiring, must be changed at first login). Issuing again replaces
//! the previous temporary password. Fulfilment calls this; so does the
//! back office's reissue.

use crate::auth::PasswordHasher;
use crate::problem::ApiError;
use chrono::{DateTime, Utc};
use persistence::Database;
use persistence::service::ServiceRecord;
use rand::RngCore;
use std::time::Duration;

/// What the activation email carries. The password exists only here and in
/// that email; it is never logged.
pub struct IssuedCredentials {
    pub username: String,
    pub temporary_password: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("username", &self.username)
            .field("temporary_password", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub async fn issue_panel_credentials(
    db: &Database,
    hasher: &PasswordHasher,
    service: &ServiceRecord,
    ttl: Duration,
) -> Result<IssuedCredentials, ApiError> {
    let mut entropy = [0u8; 24];
    rand::rng().fill_bytes(&mut entropy);
    let temporary_password = domain::credentials::temporary_password(&entropy);
    let hash = hasher
        .hash(&temporary_password)
        .await
        .map_err(ApiError::internal)?;
    let username = domain::credentials::panel_username(&service.holder_tax_id);
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
    let user = db
        .issue_panel_credentials(service.id, &username, &hash, expires_at)
        .await?;
    tracing::info!(service_id = %service.id, username = %user.username, version = user.credentials_version, "panel credentials issued");
    Ok(IssuedCredentials {
        username: user.username,
        temporary_password,
        expires_at,
    })
}
