//! Customer accounts and sign-in: sign-up, the three logins (customer area,
//! panel, back office), refresh-token rotation and logout.

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{CustomerAuth, PasswordHasher, PasswordLogin, TokenKind, Tokens};
use crate::json::{Json, Validate};
use crate::problem::{ApiError, FieldError, Problem};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::{Audience, Holder, HolderInput, PasswordPolicy};
use persistence::Database;
use persistence::identity::{
    CustomerRecord, HolderRecord, NewCustomer, NewRefreshToken, RotateOutcome,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const TAG_CUSTOMERS: &str = "customers";
pub const TAG_AUTH: &str = "auth";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HolderKindDto {
    PersonaFisica,
    PersonaGiuridica,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[schema(example = "Via Roma", min_length = 1, max_length = 200)]
    pub indirizzo: String,
    #[schema(example = "1", min_length = 1, max_length = 20)]
    pub numero_civico: String,
    /// 5 digits in Italy.
    #[schema(example = "20121", max_length = 10)]
    pub cap: String,
    #[schema(example = "Milano", min_length = 1, max_length = 100)]
    pub comune: String,
    /// 2 letters in Italy.
    #[schema(example = "MI", max_length = 5)]
    pub provincia: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "IT", min_length = 2, max_length = 2)]
    pub nazione: String,
}

/// The holder ("intestatario") of the services: the same object sign-up
/// and checkout take.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderDto {
    pub kind: HolderKindDto,
    /// Persona giuridica: the company name.
    #[schema(example = "Alfa S.r.l.", max_length = 200)]
    pub denominazione: Option<String>,
    /// Persona fisica.
    #[schema(example = "Mario", max_length = 100)]
    pub nome: Option<String>,
    /// Persona fisica.
    #[schema(example = "Rossi", max_length = 100)]
    pub cognome: Option<String>,
    /// 16 characters (persona fisica) or 11 digits, with its check character.
    #[schema(example = "RSSMRA85T10A562S", min_length = 11, max_length = 16)]
    pub codice_fiscale: String,
    /// 11 digits with its check digit; required for a persona giuridica.
    #[schema(example = "01234567897", min_length = 11, max_length = 11)]
    pub partita_iva: Option<String>,
    pub address: AddressDto,
    #[schema(example = "+39 02 1234567", max_length = 20)]
    pub phone: Option<String>,
}

impl HolderDto {
    pub fn input(&self) -> HolderInput {
        HolderInput {
            kind: match self.kind {
                HolderKindDto::PersonaFisica => "persona_fisica".into(),
                HolderKindDto::PersonaGiuridica => "persona_giuridica".into(),
            },
            denominazione: self.denominazione.clone(),
            nome: self.nome.clone(),
            cognome: self.cognome.clone(),
            codice_fiscale: self.codice_fiscale.clone(),
            partita_iva: self.partita_iva.clone(),
            indirizzo: self.address.indirizzo.clone(),
            numero_civico: self.address.numero_civico.clone(),
            cap: self.address.cap.clone(),
            comune: self.address.comune.clone(),
            provincia: self.address.provincia.clone(),
            nazione: self.address.nazione.clone(),
            phone: self.phone.clone(),
        }
    }

    /// Parses into a [`Holder`]; errors point under `prefix` (`/holder`).
    pub fn parse(&self, prefix: &str) -> Result<Holder, Vec<FieldError>> {
        Holder::parse(&self.input()).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("{prefix}{}", e.pointer), e.code, e.detail))
                .collect()
        })
    }

    pub fn from_holder(holder: &Holder) -> Self {
        let (denominazione, nome, cognome) = match &holder.name {
            domain::holder::HolderName::Denominazione(d) => (Some(d.clone()), None, None),
            domain::holder::HolderName::Persona { nome, cognome } => {
                (None, Some(nome.clone()), Some(cognome.clone()))
            }
        };
        HolderDto {
            kind: match holder.kind {
                domain::HolderKind::PersonaFisica => HolderKindDto::PersonaFisica,
                domain::HolderKind::PersonaGiuridica => HolderKindDto::PersonaGiuridica,
            },
            denominazione,
            nome,
            cognome,
            codice_fiscale: holder.codice_fiscale.to_string(),
            partita_iva: holder.partita_iva.as_ref().map(ToString::to_string),
            address: AddressDto {
                indirizzo: holder.address.indirizzo.clone(),
                numero_civico: holder.address.numero_civico.clone(),
                cap: holder.address.cap.clone(),
                comune: holder.address.comune.clone(),
                provincia: holder.address.provincia.clone(),
                nazione: holder.address.nazione.clone(),
            },
            phone: holder.phone.clone(),
        }
    }
}

pub fn holder_record(holder: &Holder) -> HolderRecord {
    let dto = HolderDto::from_holder(holder);
    HolderRecord {
        kind: holder.kind.as_str().to_owned(),
        denominazione: dto.denominazione,
        nome: dto.nome,
        cognome: dto.cognome,
        codice_fiscale: dto.codice_fiscale,
        partita_iva: dto.partita_iva,
        indirizzo: dto.address.indirizzo,
        numero_civico: dto.address.numero_civico,
        cap: dto.address.cap,
        comune: dto.address.comune,
        provincia: dto.address.provincia,
        nazione: dto.address.nazione,
        phone: dto.phone,
    }
}

pub fn holder_dto(record: &HolderRecord) -> HolderDto {
    HolderDto {
        kind: if record.kind == "persona_giuridica" {
            HolderKindDto::PersonaGiuridica
        } else {
            HolderKindDto::PersonaFisica
        },
        denominazione: record.denominazione.clone(),
        nome: record.nome.clone(),
        cognome: record.cognome.clone(),
        codice_fiscale: record.codice_fiscale.clone(),
        partita_iva: record.partita_iva.clone(),
        address: AddressDto {
            indirizzo: record.indirizzo.clone(),
            numero_civico: record.numero_civico.clone(),
            cap: record.cap.clone(),
            comune: record.comune.clone(),
            provincia: record.provincia.clone(),
            nazione: record.nazione.clone(),
        },
        phone: record.phone.clone(),
    }
}

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

/// A plausible email address: one `@`, a dot in the domain, no spaces.
pub fn email_error(pointer: &str, email: &str) -> Option<FieldError> {
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    (!valid).then(|| FieldError::new(pointer, "invalid_email", "not an email address"))
}

impl HolderDto {
    /// The schema's length limits, for every field whatever the kind (a
    /// field the kind ignores is still refused when it breaks the schema).
    pub fn length_errors(&self, prefix: &str) -> Vec<FieldError> {
        let optional = |value: &Option<String>| value.as_deref().unwrap_or_default().to_owned();
        let a = &self.address;
        [
            ("/denominazione", optional(&self.denominazione), 0, 200),
            ("/nome", optional(&self.nome), 0, 100),
            ("/cognome", optional(&self.cognome), 0, 100),
            ("/codice_fiscale", self.codice_fiscale.clone(), 11, 16),
            ("/phone", optional(&self.phone), 0, 20),
            ("/address/indirizzo", a.indirizzo.clone(), 1, 200),
            ("/address/numero_civico", a.numero_civico.clone(), 1, 20),
            ("/address/cap", a.cap.clone(), 0, 10),
            ("/address/comune", a.comune.clone(), 1, 100),
            ("/address/provincia", a.provincia.clone(), 0, 5),
            ("/address/nazione", a.nazione.clone(), 2, 2),
        ]
        .into_iter()
        .chain(
            self.partita_iva
                .clone()
                .map(|p| ("/partita_iva", p, 11, 11)),
        )
        .filter(|(_, value, min, max)| !(*min..=*max).contains(&value.chars().count()))
        .map(|(pointer, _, min, max)| {
            FieldError::new(
                format!("{prefix}{pointer}"),
                "invalid_length",
                format!("{min} to {max} characters"),
            )
        })
        .collect()
    }
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
            errors.push(FieldError::new(
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
        holder: holder_dto(&record.holder),
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
    if db.find_customer_by_email(&normalized).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = hasher
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    let created = db
        .insert_customer(&NewCustomer {
            id: Uuid::new_v4(),
            email: request.email.trim().to_owned(),
            email_normalized: normalized,
            password_hash,
            holder: holder_record(&holder),
        })
        .await;
    let customer = match created {
        Ok(customer) => customer,
        Err(persistence::StoreError::Conflict(_)) => return Err(email_taken()),
        Err(error) => return Err(error.into()),
    };
    tracing::info!(customer_id = %customer.id, "customer signed up");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/v1/customers/me"))
        .json(customer_dto(&customer)))
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "an account with this email already exists")
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
        .find_customer(auth.customer_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the account no longer exists"))?;
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

fn too_long(pointer: &str, value: &str, max: usize) -> Option<FieldError> {
    (value.chars().count() > max)
        .then(|| FieldError::new(pointer, "too_long", format!("at most {max} characters")))
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
    db.insert_refresh_token(&NewRefreshToken {
        id: Uuid::new_v4(),
        family_id,
        audience,
        subject_id: subject,
        token_hash: hash_refresh_token(&refresh_token),
        expires_at: Utc::now()
            + chrono::Duration::from_std(tokens.refresh_ttl).unwrap_or(chrono::Duration::days(30)),
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
            Database::find_customer_by_email,
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
            return Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session of this login is revoked",
            ));
        }
        RotateOutcome::Expired | RotateOutcome::Unknown => {
            return Err(ApiError::unauthorized(
                "invalid_refresh_token",
                "unknown, expired or revoked refresh token",
            ));
        }
    };
    let version = match audience {
        Audience::Panel => {
            let user = db.find_panel_user(subject).await?.ok_or_else(|| {
                ApiError::unauthorized("invalid_refresh_token", "the panel user no longer exists")
            })?;
            if user.must_change_password {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "password_change_required",
                    "change the temporary password first",
                ));
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
    db.revoke_refresh_family(&hash_refresh_token(&body.0.refresh_token), Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
