//! Login throttling: per account and per client address, after
//! `max_failures` failures within `window` the next attempts answer 429
//! with `Retry-After` until the oldest failure leaves the window. Soft and
//! temporary: nothing is locked for good, and a success clears the
//! account's count.

use crate::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Utc};
use persistence::Database;
use persistence::identity::Audience;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub max_failures: u64,
    pub window: Duration,
}

/// The keys a login attempt counts against.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    pub account: String,
    pub address: String,
}

impl LoginKeys {
    pub fn new(audience: Audience, account: &str, address: &str) -> Self {
        LoginKeys {
            account: format!(
                "account:{}:{}",
                audience.as_str(),
                account.trim().to_lowercase()
            ),
            address: format!("address:{}:{address}", audience.as_str()),
        }
    }
}

impl Throttle {
    fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::minutes(15))
    }

    /// 429 when either key has too many recent failures.
    pub async fn check(&self, db: &Database, keys: &LoginKeys) -> Result<(), ApiError> {
        let now = Utc::now();
        let since = self.window_start(now);
        for key in [&keys.account, &keys.address] {
            let (count, oldest) = db.login_failures_since(key, since).await?;
            if count >= self.max_failures {
                let until = oldest.map_or(now, |o| {
                    o + chrono::Duration::from_std(self.window).unwrap_or_default()
                });
                let retry = (until - now).num_seconds().max(1);
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!("too many failed logins; retry in {retry} s"),
                )
                .with_header(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&retry.to_string())
                        .unwrap_or(HeaderValue::from_static("60")),
                ));
            }
        }
        Ok(())
    }

    pub async fn failed(&self, db: &Database, keys: &LoginKeys) -> Result<(), ApiError> {
        db.record_login_failure(&[keys.account.clone(), keys.address.clone()], Utc::now())
            .await?;
        Ok(())
    }

    pub async fn succeeded(&self, db: &Database, keys: &LoginKeys) -> Result<(), ApiError> {
        db.clear_login_failures(&keys.account).await?;
        Ok(())
    }
}
