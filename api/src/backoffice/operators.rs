//! Back-office operators are created from the command line
//! (`attiva operator create <username>`), never through the API.

use crate::app::connect_database;
use crate::auth::PasswordHasher;
use crate::config::settings::Settings;
use anyhow::{Context, bail};
use domain::PasswordPolicy;
use uuid::Uuid;

/// Creates an operator; the password must meet the policy.
pub async fn create(settings: &Settings, username: &str, password: &str) -> anyhow::Result<Uuid> {
    let username = username.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        bail!("the username must be 1-64 characters among a-z, 0-9, '.', '_' and '-'");
    }
    PasswordPolicy::new()
        .check_with_context(password, &[&username])
        .map_err(|e| anyhow::anyhow!("password refused: {e}"))?;
    let db = connect_database(settings).await?;
    let hasher = PasswordHasher::new(1)?;
    let hash = hasher.hash(password).await?;
    let id = Uuid::new_v4();
    let result = db.operators().insert_operator(id, &username, &hash).await;
    db.close().await;
    match result {
        Ok(operator) => Ok(operator.id),
        Err(persistence::StoreError::Conflict(_)) => {
            bail!("an operator named {username} already exists")
        }
        Err(error) => Err(error).context("saving the operator"),
    }
}
