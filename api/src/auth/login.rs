//! The one password login of every audience (customer area, panel, back
//! office). The attempt is admitted by the throttle while the account is
//! looked up (the two are independent, so they go together); then exactly
//! one password verification runs, against the account's hash or, when
//! there is no account, against the decoy, so the answer and its time tell
//! nothing about the account. A success gives the attempt back; a failure
//! stays counted. A refused attempt is answered 429 before any
//! verification.
//!
//! The audiences differ only in where their accounts are (the lookup each
//! handler passes) and in what a signed-in account gets (the tokens each
//! handler issues, with the panel's temporary-password rules).

use crate::auth::passwords::{HashError, PasswordHasher};
use crate::auth::throttle::{LoginKeys, Throttle};
use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::Audience;
use persistence::identity::{CustomerRecord, OperatorRecord, PanelUserRecord};
use persistence::{Database, StoreError};
use std::future::{Future, Ready, ready};

/// An account that signs in with a password.
pub trait Credentials {
    fn password_hash(&self) -> &str;
}

impl Credentials for CustomerRecord {
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

impl Credentials for PanelUserRecord {
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

impl Credentials for OperatorRecord {
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

/// Checks a password against a stored hash, or against a decoy when there
/// is none, at the same cost ([`PasswordHasher`]). A trait so that the
/// pipeline's order can be tested without spending argon2 runs.
pub trait PasswordCheck {
    fn verify(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> impl Future<Output = Result<bool, HashError>>;
}

impl PasswordCheck for PasswordHasher {
    fn verify(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> impl Future<Output = Result<bool, HashError>> {
        PasswordHasher::verify(self, password, hash)
    }
}

/// What a login handler needs besides its body: the database, the hasher,
/// the throttle and the client's address (see
/// [`crate::auth::proxies::TrustedProxies`]), taken from the request.
pub struct PasswordLogin {
    db: web::Data<Database>,
    hasher: web::Data<PasswordHasher>,
    throttle: web::Data<Throttle>,
    client_address: String,
}

impl FromRequest for PasswordLogin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(PasswordLogin::of(req))
    }
}

fn app_data<T: 'static>(req: &HttpRequest, what: &str) -> Result<web::Data<T>, ApiError> {
    req.app_data::<web::Data<T>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("{what} missing from app data")))
}

impl PasswordLogin {
    fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let throttle = app_data::<Throttle>(req, "the login throttle")?;
        Ok(PasswordLogin {
            db: app_data(req, "the database")?,
            hasher: app_data(req, "the password hasher")?,
            client_address: throttle.proxies.client_address(req),
            throttle,
        })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Signs `name` in to `audience` with `password`. `name` is trimmed and
    /// lower-cased once, here, for both the throttle's keys and `find`, the
    /// audience's account lookup. Errors: 429 `too_many_attempts` (with
    /// `Retry-After`, nothing verified), 401 `invalid_credentials` (no such
    /// account or a wrong password, alike).
    pub async fn authenticate<A: Credentials>(
        &self,
        audience: Audience,
        name: &str,
        password: &str,
        find: impl AsyncFnOnce(&Database, &str) -> Result<Option<A>, StoreError>,
    ) -> Result<A, ApiError> {
        let name = name.trim().to_lowercase();
        let keys = LoginKeys::new(audience, &name, &self.client_address);
        authenticate(
            self.db.get_ref(),
            &self.throttle,
            &**self.hasher,
            keys,
            password,
            find(self.db.get_ref(), name.as_str()),
        )
        .await
    }
}

/// The pipeline: admission with the lookup, one verification, then the
/// give-back or the failure.
async fn authenticate<A: Credentials>(
    db: &Database,
    throttle: &Throttle,
    check: &impl PasswordCheck,
    keys: LoginKeys,
    password: &str,
    find: impl Future<Output = Result<Option<A>, StoreError>>,
) -> Result<A, ApiError> {
    let (admitted, found) = futures_util::future::try_join(throttle.admit(db, keys), async {
        find.await.map_err(ApiError::from)
    })
    .await?;
    let ok = check
        .verify(password, found.as_ref().map(Credentials::password_hash))
        .await
        .map_err(ApiError::internal)?;
    match found.filter(|_| ok) {
        Some(account) => {
            throttle.succeeded(db, admitted).await?;
            Ok(account)
        }
        None => {
            tracing::info!(throttle_key = %admitted.keys().address, "login failed");
            Err(invalid_credentials())
        }
    }
}

/// The one answer to a wrong name or password, whichever it was.
pub fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(ErrorCode::InvalidCredentials, "wrong username or password")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::proxies::TrustedProxies;
    use persistence::DatabaseSettings;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Records every verification instead of running argon2.
    #[derive(Default)]
    struct Recorded {
        hashes: Mutex<Vec<Option<String>>>,
    }

    impl Recorded {
        fn hashes(&self) -> Vec<Option<String>> {
            self.hashes.lock().map(|h| h.clone()).unwrap_or_default()
        }
    }

    impl PasswordCheck for Recorded {
        async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
            if let Ok(mut hashes) = self.hashes.lock() {
                hashes.push(hash.map(str::to_owned));
            }
            Ok(hash == Some(format!("hash-of-{password}").as_str()))
        }
    }

    struct Account;

    impl Credentials for Account {
        fn password_hash(&self) -> &str {
            "hash-of-right"
        }
    }

    async fn database() -> Database {
        let db = Database::connect(&DatabaseSettings {
            url: "sqlite::memory:".into(),
            max_connections: 1,
            busy_timeout: Duration::from_secs(5),
            read_connections: 0,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
        db
    }

    /// One failure per account and address allowed; the wide keys never
    /// refuse.
    fn throttle() -> Throttle {
        Throttle {
            max_failures: 1,
            max_failures_per_address: 100,
            max_failures_per_account: 100,
            window: Duration::from_secs(900),
            proxies: TrustedProxies::none(),
        }
    }

    fn keys() -> LoginKeys {
        LoginKeys::new(Audience::Backoffice, "someone", "192.0.2.1")
    }

    async fn missing() -> Result<Option<Account>, StoreError> {
        Ok(None)
    }

    async fn found() -> Result<Option<Account>, StoreError> {
        Ok(Some(Account))
    }

    #[tokio::test]
    async fn a_missing_account_still_runs_one_verification_against_the_decoy() {
        let (db, throttle, check) = (database().await, throttle(), Recorded::default());
        let result = authenticate(&db, &throttle, &check, keys(), "right", missing()).await;
        assert_eq!(
            result.err().map(|e| e.code()),
            Some(ErrorCode::InvalidCredentials)
        );
        assert_eq!(check.hashes(), vec![None]);
    }

    #[tokio::test]
    async fn a_refused_admission_never_verifies_the_password() {
        let (db, throttle, check) = (database().await, throttle(), Recorded::default());
        let first = authenticate(&db, &throttle, &check, keys(), "wrong", found()).await;
        assert_eq!(
            first.err().map(|e| e.code()),
            Some(ErrorCode::InvalidCredentials)
        );
        // The failure stays counted: the next attempt is refused, even with
        // the right password, and nothing more is verified.
        let refused = authenticate(&db, &throttle, &check, keys(), "right", found()).await;
        let refused = refused.err().unwrap_or_else(|| panic!("admitted"));
        assert_eq!(refused.code(), ErrorCode::TooManyAttempts);
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(check.hashes(), vec![Some("hash-of-right".to_owned())]);
    }

    #[tokio::test]
    async fn a_success_gives_its_attempt_back() {
        let (db, throttle, check) = (database().await, throttle(), Recorded::default());
        for _ in 0..3 {
            let signed_in = authenticate(&db, &throttle, &check, keys(), "right", found()).await;
            assert!(signed_in.is_ok(), "{:?}", signed_in.err());
        }
        assert_eq!(check.hashes().len(), 3);
    }
}
