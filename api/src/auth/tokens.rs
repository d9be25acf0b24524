//! Access tokens: HS256 JWTs with iss, aud, sub, exp, iat, jti and a type.
//! The validator pins the algorithm and checks every claim, so a token for
//! one audience is refused by another. Refresh tokens are opaque random
//! strings, stored hashed.

use chrono::Utc;
use domain::Audience;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// What an access token lets its bearer do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Everything its audience may do.
    Access,
    /// Panel only, after a login with a temporary password: nothing but
    /// `POST /v1/panel/password`.
    PasswordChange,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub typ: TokenKind,
    /// Panel tokens: the credentials version they were issued for; a reissue
    /// or a password change makes older tokens useless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i32>,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Bad signature, algorithm, issuer, expiry or shape: 401.
    Invalid,
    /// Valid, but for another audience: 403.
    WrongAudience,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .finish()
    }
}

const AUDIENCES: [&str; 3] = ["customer_area", "panel", "backoffice"];

/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 5;

impl Tokens {
    pub fn new(
        secret: &SecretString,
        issuer: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        let key = secret.expose_secret().as_bytes();
        Tokens {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            issuer: issuer.to_owned(),
            access_ttl,
            refresh_ttl,
        }
    }

    /// A signed access token and its lifetime in seconds.
    pub fn issue(
        &self,
        audience: Audience,
        subject: Uuid,
        kind: TokenKind,
        version: Option<i32>,
    ) -> Result<(String, u64), jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let ttl = self.access_ttl.as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: audience.as_str().to_owned(),
            sub: subject.to_string(),
            exp: now + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            iat: now,
            jti: Uuid::new_v4().to_string(),
            typ: kind,
            ver: version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, ttl))
    }

    /// Checks signature (HS256 only), issuer, expiry, not-before, the
    /// required claims, that it was not issued in the future, that its
    /// header has no `crit`, and that the audience is `expected`.
    pub fn verify(&self, token: &str, expected: Audience) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&AUDIENCES);
        // jsonwebtoken enforces only exp, nbf, aud, iss and sub from this
        // list; `iat` is required by `Claims` itself and checked below.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Off by default in jsonwebtoken: a token not valid before a time
        // is refused until then (RFC 7519 section 4.1.5).
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        // We understand no extension, so a token that makes one critical
        // must be refused (RFC 7515 section 4.1.11); jsonwebtoken reads
        // `crit` but does not act on it.
        if data.header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        // Issued in the future: not by us, or by a clock gone wrong.
        if data.claims.iat > Utc::now().timestamp() + LEEWAY_SECS as i64 {
            return Err(TokenError::Invalid);
        }
        if data.claims.aud != expected.as_str() {
            return Err(TokenError::WrongAudience);
        }
        Ok(data.claims)
    }
}

/// A new opaque refresh token (256 random bits, hex).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How refresh tokens are stored: SHA-256, hex.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(
            &SecretString::from(secret.to_owned()),
            "attiva",
            Duration::from_secs(900),
            Duration::from_secs(86_400),
        )
    }

    #[test]
    fn a_token_is_accepted_by_its_audience_only() {
        let t = tokens(&"k".repeat(32));
        let subject = Uuid::new_v4();
        let (token, ttl) = t
            .issue(Audience::Panel, subject, TokenKind::Access, Some(3))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ttl, 900);
        let claims = t
            .verify(&token, Audience::Panel)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims.sub, subject.to_string());
        assert_eq!(claims.ver, Some(3));
        assert_eq!(claims.typ, TokenKind::Access);
        assert_eq!(
            t.verify(&token, Audience::CustomerArea).err(),
            Some(TokenError::WrongAudience)
        );
    }

    /// A token signed with the right key, with the server's claims changed
    /// by `claims` and its header by `header`.
    fn forged(
        secret: &str,
        claims: impl FnOnce(&mut serde_json::Value),
        header: impl FnOnce(&mut Header),
    ) -> String {
        let now = Utc::now().timestamp();
        let mut value = serde_json::json!({
            "iss": "attiva",
            "aud": "customer_area",
            "sub": Uuid::new_v4().to_string(),
            "iat": now,
            "exp": now + 600,
            "jti": Uuid::new_v4().to_string(),
            "typ": "access"
        });
        claims(&mut value);
        let mut head = Header::new(Algorithm::HS256);
        header(&mut head);
        jsonwebtoken::encode(&head, &value, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap_or_else(|e| panic!("forging: {e}"))
    }

    #[test]
    fn future_nbf_and_iat_and_a_crit_header_are_refused() {
        let secret = "k".repeat(32);
        let t = tokens(&secret);
        let now = Utc::now().timestamp();
        let verify = |token: &str| t.verify(token, Audience::CustomerArea).err();
        // Controls: the same token, and ones within the leeway, are accepted.
        assert_eq!(verify(&forged(&secret, |_| {}, |_| {})), None);
        assert_eq!(
            verify(&forged(&secret, |c| c["nbf"] = (now - 60).into(), |_| {})),
            None
        );
        assert_eq!(
            verify(&forged(&secret, |c| c["iat"] = (now + 2).into(), |_| {})),
            None
        );
        // Not valid yet.
        assert_eq!(
            verify(&forged(
                &secret,
                |c| c["nbf"] = (now + 3_600).into(),
                |_| {}
            )),
            Some(TokenError::Invalid)
        );
        // Issued in the future.
        assert_eq!(
            verify(&forged(
                &secret,
                |c| c["iat"] = (now + 3_600).into(),
                |_| {}
            )),
            Some(TokenError::Invalid)
        );
        // An extension we do not understand, marked critical.
        let crit = forged(&secret, |_| {}, |h| h.crit = Some(vec!["b64".to_owned()]));
        assert_eq!(verify(&crit), Some(TokenError::Invalid));
        let empty = forged(&secret, |_| {}, |h| h.crit = Some(Vec::new()));
        assert_eq!(verify(&empty), Some(TokenError::Invalid));
    }

    #[test]
    fn another_key_and_alg_none_are_refused() {
        let (token, _) = tokens(&"a".repeat(32))
            .issue(
                Audience::Backoffice,
                Uuid::new_v4(),
                TokenKind::Access,
                None,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tokens(&"b".repeat(32))
                .verify(&token, Audience::Backoffice)
                .err(),
            Some(TokenError::Invalid)
        );
        // Same claims, header {"alg":"none"}, no signature.
        let payload = token.split('.').nth(1).unwrap_or_default();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(
            tokens(&"a".repeat(32))
                .verify(&none, Audience::Backoffice)
                .err(),
            Some(TokenError::Invalid)
        );
    }
}
