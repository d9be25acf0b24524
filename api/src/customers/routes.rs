//! Customer accounts and sessions: sign-up, the customer-area login,
//! refresh-token rotation and logout.

use super::errors::{RefreshError, SignUpError};
use super::{TAG_AUTH, TAG_CUSTOMERS};
use crate::auth::session::{TokenResponse, session, too_long};
use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{CustomerAuth, PasswordHasher, PasswordLogin, TokenKind, Tokens};
use crate::http::codes::ErrorCode;
use crate::http::json::{Json, Validate};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::shared::fields::email_error;
use crate::shared::holder::HolderDto;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::{Audience, PasswordPolicy};
use persistence::Database;
use persistence::identity::{CustomerRecord, NewCustomer, NewRefreshToken, RotateOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /v1/customers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "mario.rossi@example.com",
    "password": "tramonto-sul-lago-di-como-42",
    "holder": {
        "kind": "persona_giuridica", "denominazione": "Alfa S.r.l.",
        "codice_fiscale": "01234567897", "partita_iva": "01234567897",
        "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121", "comune": "Milano", "provincia": "MI", "nazione": "IT"}
    }
}))]
pub struct SignUpRequest {
    /// Unique, case-insensitive.
    #[schema(example = "mario.rossi@example.com", max_length = 254)]
    pub email: String,
    /// 12 to 128 characters, not a common password; no composition rules.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
    pub holder: HolderDto,
}

impl Validate for SignUpRequest {
    fn validate(&self) -> Vec<FieldError> {
        let length_errors = self.holder.length_errors("/holder");
        if !length_errors.is_empty() {
            return length_errors;
        }
        let mut errors: Vec<FieldError> = email_error("/email", &self.email).into_iter().collect();
        if let Err(error) = PasswordPolicy::new().check_with_context(&self.password, &[&self.email])
        {
            errors.push(FieldError::decided(
                "/password",
                error.code(),
                error.to_string(),
            ));
        }
        if let Err(holder_errors) = self.holder.parse("/holder") {
            errors.extend(holder_errors);
        }
        errors
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: Uuid,
    #[schema(example = "mario.rossi@example.com")]
    pub email: String,
    pub holder: HolderDto,
    pub created_at: DateTime<Utc>,
}

fn customer_dto(record: &CustomerRecord) -> CustomerDto {
    CustomerDto {
        id: record.id,
        email: record.email.clone(),
        holder: HolderDto::from_holder(&record.holder),
        created_at: record.created_at,
    }
}

/// Sign up for the customer area.
///
/// Creates a customer account with the holder's data. The email is unique
/// (case-insensitive); Partita IVA and Codice Fiscale are checked with their
/// check digits; the password must have 12 to 128 characters and not be a
/// common one.
#[utoipa::path(
    operation_id = "signUp",
    tag = TAG_CUSTOMERS,
    request_body(content = SignUpRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new account", body = CustomerDto,
            headers(("Location" = String, description = "The account's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken (`email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (email, password policy, tax ids, address)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/customers")]
pub async fn sign_up(
    db: web::Data<Database>,
    hasher: web::Data<PasswordHasher>,
    body: Json<SignUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let holder = request
        .holder
        .parse("/holder")
        .map_err(ApiError::validation)?;
    let normalized = request.email.trim().to_lowercase();
    if db
        .customers()
        .find_customer_by_email(&normalized)
        .await?
        .is_some()
    {
        return Err(SignUpError::EmailTaken.into());
    }
    let password_hash = hasher
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    let created = db
        .customers()
        .insert_customer(&NewCustomer {
            id: Uuid::new_v4(),
            email: request.email.trim().to_owned(),
            email_normalized: normalized,
            password_hash,
            holder,
        })
        .await;
    let customer = match created {
        Ok(customer) => customer,
        Err(persistence::StoreError::Conflict(_)) => return Err(SignUpError::EmailTaken.into()),
        Err(error) => return Err(error.into()),
    };
    tracing::info!(customer_id = %customer.id, "customer signed up");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/v1/customers/me"))
        .json(customer_dto(&customer)))
}

/// The signed-in customer.
#[utoipa::path(
    operation_id = "getMe",
    tag = TAG_CUSTOMERS,
    security(("customer_area" = [])),
    responses(
        (status = 200, description = "The customer's account", body = CustomerDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token of another audience", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/customers/me")]
pub async fn me(db: web::Data<Database>, auth: CustomerAuth) -> Result<HttpResponse, ApiError> {
    let customer = db
        .customers()
        .find_customer(auth.customer_id)
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized(ErrorCode::InvalidToken, "the account no longer exists")
        })?;
    Ok(HttpResponse::Ok().json(customer_dto(&customer)))
}

/// Body of the customer-area login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "mario.rossi@example.com", "password": "tramonto-sul-lago-di-como-42"}))]
pub struct CustomerLoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

impl Validate for CustomerLoginRequest {
    fn validate(&self) -> Vec<FieldError> {
        [
            too_long("/email", &self.email, 254),
            too_long("/password", &self.password, 1024),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Log in to the customer area.
///
/// Wrong email and wrong password get the same answer in the same time.
///
/// Every attempt is counted before its password is checked, and past a
/// limit it answers 429 `too_many_attempts` with `Retry-After`, unchecked
/// (so guesses sent together cannot slip past it). The limits, per 15
/// minutes by default: 5 failures for the account from one client address;
/// 100 from one address over all accounts; 50 for the account over all
/// addresses. So a neighbour's typos do not block another user of the same
/// address, nor an attacker's guesses the account's owner at its own
/// address. A successful login clears the account's count from its address.
/// The client address is the connection's; behind a reverse proxy that the
/// server trusts, the one it reports in `X-Forwarded-For` (or
/// `Forwarded`). Panel and back-office logins are throttled the same way.
#[utoipa::path(
    operation_id = "customerLogin",
    tag = TAG_AUTH,
    request_body(content = CustomerLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins (`too_many_attempts`) for the account from this address, from this address, or for the account; not checked. See Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/v1/auth/customer/login")]
pub async fn customer_login(
    login: PasswordLogin,
    tokens: web::Data<Tokens>,
    body: Json<CustomerLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let customer = login
        .authenticate(
            Audience::CustomerArea,
            &request.email,
            &request.password,
            async |db: &Database, name: &str| db.customers().find_customer_by_email(name).await,
        )
        .await?;
    let (response, _) = session(
        login.db(),
        &tokens,
        Audience::CustomerArea,
        customer.id,
        None,
        None,
    )
    .await?;
    tracing::info!(customer_id = %customer.id, "customer logged in");
    Ok(HttpResponse::Ok().json(response))
}

/// Body of `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

impl Validate for RefreshRequest {
    fn validate(&self) -> Vec<FieldError> {
        too_long("/refresh_token", &self.refresh_token, 256)
            .into_iter()
            .collect()
    }
}

/// Exchange a refresh token.
///
/// Refresh tokens are single use: each call returns a new access token and
/// a new refresh token. Presenting one that was already used revokes its
/// whole family (every session descended from the same login).
#[utoipa::path(
    operation_id = "refresh",
    tag = TAG_AUTH,
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired, revoked or reused (`refresh_token_reused`) token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    db: web::Data<Database>,
    tokens: web::Data<Tokens>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let next = new_refresh_token();
    let now = Utc::now();
    let outcome = db
        .refresh_tokens()
        .rotate_refresh_token(
            &hash_refresh_token(&body.0.refresh_token),
            NewRefreshToken {
                id: Uuid::new_v4(),
                family_id: Uuid::nil(),
                audience: Audience::CustomerArea,
                subject_id: Uuid::nil(),
                token_hash: hash_refresh_token(&next),
                expires_at: now
                    + chrono::Duration::from_std(tokens.refresh_ttl)
                        .unwrap_or(chrono::Duration::days(30)),
            },
            now,
        )
        .await?;
    let (audience, subject) = match outcome {
        RotateOutcome::Rotated {
            audience,
            subject_id,
            ..
        } => (audience, subject_id),
        RotateOutcome::Reused { family_id } => {
            tracing::warn!(%family_id, "refresh token reused: family revoked");
            return Err(RefreshError::Reused.into());
        }
        RotateOutcome::Expired | RotateOutcome::Unknown => {
            return Err(RefreshError::Invalid.into());
        }
    };
    let version = match audience {
        Audience::Panel => {
            let user = db
                .panel_users()
                .find_panel_user(subject)
                .await?
                .ok_or(RefreshError::SubjectGone)?;
            if user.must_change_password {
                return Err(RefreshError::PasswordChangeRequired.into());
            }
            Some(user.credentials_version)
        }
        _ => None,
    };
    let (access_token, expires_in) = tokens
        .issue(audience, subject, TokenKind::Access, version)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: Some(next),
        audience: audience.as_str().into(),
        password_change_required: false,
    }))
}

/// Log out.
///
/// Revokes the refresh token's family: that login's sessions end. Access
/// tokens already issued die at their expiry. Unknown tokens are accepted
/// (204) so the call is idempotent.
#[utoipa::path(
    operation_id = "logout",
    tag = TAG_AUTH,
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/logout")]
pub async fn logout(
    db: web::Data<Database>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    db.refresh_tokens()
        .revoke_refresh_family(&hash_refresh_token(&body.0.refresh_token), Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
