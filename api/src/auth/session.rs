//! Issuing a session after a login: the access token and the start (or
//! continuation) of a refresh-token family, as the three logins answer.

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{TokenKind, Tokens};
use crate::http::codes::ErrorCode;
use crate::http::json::Validate;
use crate::http::problem::{ApiError, FieldError};
use chrono::Utc;
use domain::Audience;
use persistence::Database;
use persistence::identity::NewRefreshToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Issued tokens. Never cache this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds the access token lives.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque; exchange it at `POST /v1/auth/refresh` (single use). Absent
    /// while the panel password must be changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `customer_area`, `panel` or `backoffice`.
    #[schema(example = "customer_area")]
    pub audience: String,
    /// Panel: the temporary password must be changed; the access token
    /// allows only `POST /v1/panel/password`.
    pub password_change_required: bool,
}

/// Issues an access token and starts (or continues) a refresh-token family.
pub async fn session(
    db: &Database,
    tokens: &Tokens,
    audience: Audience,
    subject: Uuid,
    version: Option<i32>,
    family: Option<Uuid>,
) -> Result<(TokenResponse, Uuid), ApiError> {
    let (access_token, expires_in) = tokens
        .issue(audience, subject, TokenKind::Access, version)
        .map_err(ApiError::internal)?;
    let refresh_token = new_refresh_token();
    let family_id = family.unwrap_or_else(Uuid::new_v4);
    db.refresh_tokens()
        .insert_refresh_token(&NewRefreshToken {
            id: Uuid::new_v4(),
            family_id,
            audience,
            subject_id: subject,
            token_hash: hash_refresh_token(&refresh_token),
            expires_at: Utc::now()
                + chrono::Duration::from_std(tokens.refresh_ttl)
                    .unwrap_or(chrono::Duration::days(30)),
        })
        .await?;
    Ok((
        TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: Some(refresh_token),
            audience: audience.as_str().into(),
            password_change_required: false,
        },
        family_id,
    ))
}

impl Validate for UsernameLoginRequest {
    fn validate(&self) -> Vec<FieldError> {
        [
            too_long("/username", &self.username, 254),
            too_long("/password", &self.password, 1024),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Body of the panel and back-office logins.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "fe-01234567897", "password": "abcd-efgh-ijkm-npqr"}))]
pub struct UsernameLoginRequest {
    #[schema(max_length = 254)]
    pub username: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

pub fn too_long(pointer: &str, value: &str, max: usize) -> Option<FieldError> {
    (value.chars().count() > max).then(|| {
        FieldError::new(
            pointer,
            ErrorCode::TooLong,
            format!("at most {max} characters"),
        )
    })
}
