//! The FE panel: login with the emailed credentials, the mandatory change
//! of the temporary password, and the service status ("Stato servizio").

use super::TAG;
use super::errors::{PanelLoginError, PasswordChangeError};
use crate::auth::session::{TokenResponse, UsernameLoginRequest, session};
use crate::auth::{
    PanelPasswordChange, PanelSession, PasswordHasher, PasswordLogin, TokenKind, Tokens,
};
use crate::http::codes::ErrorCode;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::services::dto::{ModuleDto, service_dtos};
use actix_web::{HttpResponse, get, post, web};
use chrono::{NaiveDate, Utc};
use domain::Audience;
use domain::PasswordPolicy;
use persistence::Database;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Log in to the FE panel.
///
/// With the temporary password from the activation email the login
/// succeeds but `password_change_required` is true and the access token
/// allows only `POST /v1/panel/password`; every other panel call answers
/// 403 `password_change_required`. An expired temporary password answers
/// 401 `temporary_password_expired`.
///
/// Throttled like every login, before the password is checked: 5 failures
/// in 15 minutes for the username from one client address, 100 from one
/// address over all usernames, 50 for the username over all addresses
/// (defaults); then 429 with `Retry-After`. Guesses at a username from
/// elsewhere do not block its owner.
#[utoipa::path(
    operation_id = "panelLogin",
    tag = TAG,
    request_body(content = UsernameLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials (`invalid_credentials`) or expired temporary password (`temporary_password_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins (`too_many_attempts`) for the account from this address, from this address, or for the account; not checked. See Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/v1/auth/panel/login")]
pub async fn login(
    login: PasswordLogin,
    tokens: web::Data<Tokens>,
    body: Json<UsernameLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let user = login
        .authenticate(
            Audience::Panel,
            &request.username,
            &request.password,
            async |db: &Database, name: &str| {
                db.panel_users().find_panel_user_by_username(name).await
            },
        )
        .await?;
    if user.must_change_password {
        if user
            .temporary_password_expires_at
            .is_none_or(|at| at <= Utc::now())
        {
            return Err(PanelLoginError::TemporaryPasswordExpired.into());
        }
        let (access_token, expires_in) = tokens
            .issue(
                Audience::Panel,
                user.id,
                TokenKind::PasswordChange,
                Some(user.credentials_version),
            )
            .map_err(ApiError::internal)?;
        tracing::info!(panel_user_id = %user.id, "panel login with temporary password");
        return Ok(HttpResponse::Ok().json(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: None,
            audience: Audience::Panel.as_str().into(),
            password_change_required: true,
        }));
    }
    let (response, _) = session(
        login.db(),
        &tokens,
        Audience::Panel,
        user.id,
        Some(user.credentials_version),
        None,
    )
    .await?;
    tracing::info!(panel_user_id = %user.id, "panel login");
    Ok(HttpResponse::Ok().json(response))
}

/// Body of `POST /v1/panel/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// 12 to 128 characters, not a common password, not the current one.
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
    /// The same as `new_password`.
    #[schema(min_length = 12, max_length = 128)]
    pub new_password_confirmation: String,
}

impl Validate for ChangePasswordRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.current_password.chars().count() > 1024 {
            errors.push(FieldError::new(
                "/current_password",
                ErrorCode::TooLong,
                "at most 1024 characters",
            ));
        }
        if let Err(error) = PasswordPolicy::new().check(&self.new_password) {
            errors.push(FieldError::decided(
                "/new_password",
                error.code(),
                error.to_string(),
            ));
        }
        if self.new_password_confirmation != self.new_password {
            errors.push(FieldError::new(
                "/new_password_confirmation",
                ErrorCode::ConfirmationMismatch,
                "the confirmation differs from the new password",
            ));
        }
        if self.new_password == self.current_password {
            errors.push(FieldError::new(
                "/new_password",
                ErrorCode::PasswordUnchanged,
                "the new password must differ from the current one",
            ));
        }
        errors
    }
}

/// Change the panel password.
///
/// Mandatory at the first login with the temporary password (the only call
/// that token allows). Returns a full session; the temporary password stops
/// working and every other session of this user is revoked.
#[utoipa::path(
    operation_id = "changePanelPassword",
    tag = TAG,
    security(("panel" = [])),
    request_body(content = ChangePasswordRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Password changed; a full session", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token, or the temporary password expired (`temporary_password_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong current password (`invalid_current_password`) or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The credentials changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Policy, confirmation or unchanged password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/panel/password")]
pub async fn change_password(
    db: web::Data<Database>,
    hasher: web::Data<PasswordHasher>,
    tokens: web::Data<Tokens>,
    auth: PanelPasswordChange,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let user = auth.user;
    if user.must_change_password
        && user
            .temporary_password_expires_at
            .is_none_or(|at| at <= Utc::now())
    {
        return Err(PasswordChangeError::TemporaryPasswordExpired.into());
    }
    PasswordPolicy::new()
        .check_with_context(&request.new_password, &[&user.username])
        .map_err(PasswordChangeError::Policy)?;
    let ok = hasher
        .verify(&request.current_password, Some(&user.password_hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Err(PasswordChangeError::WrongCurrentPassword.into());
    }
    let hash = hasher
        .hash(&request.new_password)
        .await
        .map_err(ApiError::internal)?;
    if !db
        .panel_users()
        .set_panel_password(user.id, &hash, user.credentials_version)
        .await?
    {
        return Err(PasswordChangeError::CredentialsChanged.into());
    }
    let (response, _) = session(
        &db,
        &tokens,
        Audience::Panel,
        user.id,
        Some(user.credentials_version + 1),
        None,
    )
    .await?;
    tracing::info!(panel_user_id = %user.id, "panel password changed");
    Ok(HttpResponse::Ok().json(response))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PanelStatusDto {
    pub service_id: Uuid,
    #[schema(example = "fe")]
    pub product_code: String,
    /// `awaiting_configuration`, `active`, `expired`, `suspended`, `cancelled`.
    #[schema(example = "awaiting_configuration")]
    pub status: String,
    pub expires_on: NaiveDate,
    /// The provider's 7-character code for receiving invoices.
    #[schema(example = "KRRH6B9")]
    pub codice_destinatario: String,
    #[schema(example = "fe-01234567897")]
    pub username: String,
    /// The add-ons of this base with their state and the actions the panel
    /// may show ("Attiva" = `purchase`).
    pub modules: Vec<ModuleDto>,
}

/// Service status ("Stato servizio").
///
/// The panel user's FE service: status, expiry, codice destinatario, and
/// each add-on module with its state and the actions the panel may show.
#[utoipa::path(
    operation_id = "panelStatus",
    tag = TAG,
    security(("panel" = [])),
    responses(
        (status = 200, description = "The service", body = PanelStatusDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password change required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/status")]
pub async fn status(
    db: web::Data<Database>,
    view: web::Data<crate::catalog::view::CatalogView>,
    auth: PanelSession,
) -> Result<HttpResponse, ApiError> {
    let service = db
        .services()
        .find_service(auth.user.service_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("panel user without service")))?;
    let shown = service_dtos(&db, &view, std::slice::from_ref(&service))
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("service vanished")))?;
    Ok(HttpResponse::Ok().json(PanelStatusDto {
        service_id: service.id,
        product_code: service.product_code,
        status: shown.status,
        expires_on: service.expires_on,
        codice_destinatario: service.codice_destinatario,
        username: auth.user.username,
        modules: shown.modules,
    }))
}
