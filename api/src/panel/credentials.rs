//! Issuing panel credentials for an FE service: the username derived from
//! the holder's tax id, a random temporary password (stored only as a
//! hash, expiring, must be changed at first login). Issuing again replaces
//! the previous temporary password. Fulfilment mints them with the new
//! service; the back office's reissue replaces them.

use crate::auth::hash_temporary;
use crate::http::problem::ApiError;
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

/// New credentials for the holder `holder_tax_id`, valid for `ttl` from
/// now, with the hash to store.
pub fn mint(holder_tax_id: &str, ttl: Duration) -> (IssuedCredentials, String) {
    let mut entropy = [0u8; 24];
    rand::rng().fill_bytes(&mut entropy);
    let temporary_password = domain::credentials::temporary_password(&entropy);
    let hash = hash_temporary(&temporary_password);
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(14));
    let issued = IssuedCredentials {
        username: domain::credentials::panel_username(holder_tax_id),
        temporary_password,
        expires_at,
    };
    (issued, hash)
}

/// Replaces the service's panel credentials (the back office's reissue).
pub async fn issue_panel_credentials(
    db: &Database,
    service: &ServiceRecord,
    ttl: Duration,
) -> Result<IssuedCredentials, ApiError> {
    let (issued, hash) = mint(&service.holder_tax_id, ttl);
    let user = db
        .panel_users()
        .issue_panel_credentials(service.id, &issued.username, &hash, issued.expires_at)
        .await?;
    tracing::info!(service_id = %service.id, username = %user.username, version = user.credentials_version, "panel credentials issued");
    Ok(issued)
}
