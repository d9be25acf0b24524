//! Login throttling, after Auth0's brute-force model. Every attempt counts
//! against three keys: the account from this client address (the tight
//! limit, `max_failures`), the client address over all accounts
//! (`max_failures_per_address`, against spraying) and the account over all
//! addresses (`max_failures_per_account`, against distributed guessing).
//! So one client's typos lock out neither its neighbours behind the same
//! address nor the account's owner elsewhere.
//!
//! The attempt is counted (admitted) before the password is verified, by
//! one conditional statement for the three keys; past any limit it is
//! refused with 429 and `Retry-After`, unverified. At most a limit's
//! number of passwords are thus verified per key and window, whatever the
//! concurrency. A success gives its attempt back to the two wide keys and
//! clears the account+address count, so only failures stay counted. Soft
//! and temporary: nothing is locked for good.

use crate::auth::proxies::TrustedProxies;
use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{SubsecRound, Utc};
use domain::Audience;
use persistence::Database;
use persistence::throttle::KeyAdmission;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Throttle {
    /// Per account and client address.
    pub max_failures: u64,
    /// Per client address, over all accounts.
    pub max_failures_per_address: u64,
    /// Per account, over all client addresses.
    pub max_failures_per_account: u64,
    pub window: Duration,
    pub proxies: TrustedProxies,
}

/// The keys a login attempt counts against.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    /// The account from this address.
    pub pair: String,
    pub account: String,
    pub address: String,
}

impl LoginKeys {
    pub fn new(audience: Audience, account: &str, address: &str) -> Self {
        let audience = audience.as_str();
        let account = account.trim().to_lowercase();
        LoginKeys {
            // An address never holds a '/', so the first one ends it.
            pair: format!("pair:{audience}:{address}/{account}"),
            account: format!("account:{audience}:{account}"),
            address: format!("address:{audience}:{address}"),
        }
    }
}

/// An attempt that was counted: verify its password, then report a
/// success with [`Throttle::succeeded`] (a failure stays counted).
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    keys: LoginKeys,
    admissions: Vec<KeyAdmission>,
}

impl Admitted {
    pub fn keys(&self) -> &LoginKeys {
        &self.keys
    }
}

impl Throttle {
    fn window(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::minutes(15))
    }

    /// Counts the attempt against every key, or refuses it with 429 when a
    /// key is at its limit (then it counts against none).
    pub async fn admit(&self, db: &Database, keys: LoginKeys) -> Result<Admitted, ApiError> {
        // Microseconds: what PostgreSQL keeps, so a release matches the
        // window it read back.
        let now = Utc::now().trunc_subsecs(6);
        let window = self.window();
        let admissions = db
            .login_attempts()
            .admit_login_attempt(
                &[
                    (keys.pair.clone(), self.max_failures),
                    (keys.address.clone(), self.max_failures_per_address),
                    (keys.account.clone(), self.max_failures_per_account),
                ],
                now,
                window,
            )
            .await?;
        let refused_until = admissions
            .iter()
            .filter(|a| !a.admitted)
            .map(|a| a.window_started_at + window)
            .max();
        let Some(until) = refused_until else {
            return Ok(Admitted { keys, admissions });
        };
        // Refused: the keys that counted it give it back.
        if admissions.iter().any(|a| a.admitted) {
            db.login_attempts()
                .release_login_attempts(&admissions, None)
                .await?;
        }
        let millis = (until - now).num_milliseconds();
        // Another server's clock (or a request a moment later) may have
        // opened the window a hair after `now`: never ask for more than a
        // window.
        let retry = ((millis + 999) / 1000).clamp(1, window.num_seconds().max(1));
        tracing::info!(throttle_key = %keys.address, retry_after = retry, "login refused: too many attempts");
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
            format!("too many failed logins; retry in {retry} s"),
        )
        .with_header(
            header::RETRY_AFTER,
            HeaderValue::from_str(&retry.to_string()).unwrap_or(HeaderValue::from_static("60")),
        ))
    }

    /// The password was right: the attempt was no failure. It is given
    /// back to the address and account keys, and the account's count from
    /// this address starts again.
    pub async fn succeeded(&self, db: &Database, admitted: Admitted) -> Result<(), ApiError> {
        let wide: Vec<KeyAdmission> = admitted
            .admissions
            .into_iter()
            .filter(|a| a.key != admitted.keys.pair)
            .collect();
        db.login_attempts()
            .release_login_attempts(&wide, Some(&admitted.keys.pair))
            .await?;
        Ok(())
    }
}
