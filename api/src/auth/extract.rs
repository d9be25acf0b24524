//! Bearer-token extractors. A handler states who may call it by the
//! extractor it takes: [`CustomerAuth`], [`PanelSession`],
//! [`PanelPasswordChange`] or [`OperatorAuth`].
//!
//! No or invalid token → 401 (`WWW-Authenticate: Bearer`); a valid token
//! of another audience → 403 `wrong_audience`; a panel user who must still
//! change the temporary password → 403 `password_change_required`.

use super::tokens::{Claims, TokenError, TokenKind, Tokens};
use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, web};
use domain::Audience;
use persistence::Database;
use persistence::identity::PanelUserRecord;
use persistence::service::ServiceRecord;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use uuid::Uuid;

fn unauthorized(code: ErrorCode, detail: &str) -> ApiError {
    ApiError::unauthorized(code, detail).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"attiva\""),
    )
}

/// The verified claims of the request's bearer token for `audience`.
fn claims(req: &HttpRequest, audience: Audience) -> Result<Claims, ApiError> {
    let tokens = req
        .app_data::<web::Data<Tokens>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("token keys missing from app data")))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthorized(
                ErrorCode::AuthenticationRequired,
                "send Authorization: Bearer <access token>",
            )
        })?;
    tokens.verify(token, audience).map_err(|error| match error {
        TokenError::Invalid => unauthorized(
            ErrorCode::InvalidToken,
            "the access token is invalid or expired",
        ),
        TokenError::WrongAudience => ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WrongAudience,
            format!("this operation needs a token for `{}`", audience.as_str()),
        ),
    })
}

fn subject(claims: &Claims) -> Result<Uuid, ApiError> {
    Uuid::parse_str(&claims.sub)
        .map_err(|_| unauthorized(ErrorCode::InvalidToken, "the token's subject is not an id"))
}

/// A full access token of `audience`.
fn access(req: &HttpRequest, audience: Audience) -> Result<Uuid, ApiError> {
    let claims = claims(req, audience)?;
    if claims.typ != TokenKind::Access {
        return Err(password_change_required());
    }
    subject(&claims)
}

fn password_change_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::PasswordChangeRequired,
        "change the temporary password first: POST /v1/panel/password",
    )
}

/// A customer of the customer area.
#[derive(Debug, Clone, Copy)]
pub struct CustomerAuth {
    pub customer_id: Uuid,
}

impl FromRequest for CustomerAuth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(access(req, Audience::CustomerArea).map(|customer_id| CustomerAuth { customer_id }))
    }
}

/// The customer of the customer area when the request carries a bearer
/// token, `None` when it carries none. A token that is sent must be a valid
/// customer token: a bad one is refused, never read as anonymous.
#[derive(Debug, Clone, Copy)]
pub struct OptionalCustomer(pub Option<Uuid>);

impl FromRequest for OptionalCustomer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return ready(Ok(OptionalCustomer(None)));
        }
        ready(access(req, Audience::CustomerArea).map(|id| OptionalCustomer(Some(id))))
    }
}

/// A back-office operator.
#[derive(Debug, Clone, Copy)]
pub struct OperatorAuth {
    pub operator_id: Uuid,
}

impl FromRequest for OperatorAuth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(access(req, Audience::Backoffice).map(|operator_id| OperatorAuth { operator_id }))
    }
}

/// Loads the panel user a panel token names, checking that the token was
/// issued for its current credentials.
async fn panel_user(db: web::Data<Database>, claims: Claims) -> Result<PanelUserRecord, ApiError> {
    let id = subject(&claims)?;
    let user = db
        .panel_users()
        .find_panel_user(id)
        .await?
        .ok_or_else(panel_user_gone)?;
    current_credentials(&user, &claims)?;
    Ok(user)
}

fn panel_user_gone() -> ApiError {
    unauthorized(ErrorCode::InvalidToken, "the panel user no longer exists")
}

/// The token was issued for the user's current credentials.
fn current_credentials(user: &PanelUserRecord, claims: &Claims) -> Result<(), ApiError> {
    if claims.ver == Some(user.credentials_version) {
        Ok(())
    } else {
        Err(unauthorized(
            ErrorCode::InvalidToken,
            "the credentials changed since this token was issued; log in again",
        ))
    }
}

/// What [`PanelSession`] checks, with the user's service read in the same
/// query: for the operations that need the service (`setup::gate`).
pub async fn panel_session_and_service(
    req: &HttpRequest,
) -> Result<(PanelUserRecord, ServiceRecord), ApiError> {
    let claims = claims(req, Audience::Panel)?;
    let db = database(req)?;
    if claims.typ != TokenKind::Access {
        return Err(password_change_required());
    }
    let id = subject(&claims)?;
    let (user, service) = db
        .panel_users()
        .find_panel_user_with_service(id)
        .await?
        .ok_or_else(panel_user_gone)?;
    current_credentials(&user, &claims)?;
    if user.must_change_password {
        return Err(password_change_required());
    }
    Ok((user, service))
}

type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn database(req: &HttpRequest) -> Result<web::Data<Database>, ApiError> {
    req.app_data::<web::Data<Database>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("database missing from app data")))
}

/// A panel user with a full session: the temporary password has been changed.
#[derive(Debug, Clone)]
pub struct PanelSession {
    pub user: PanelUserRecord,
}

impl FromRequest for PanelSession {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = claims(req, Audience::Panel).and_then(|c| database(req).map(|db| (c, db)));
        Box::pin(async move {
            let (claims, db) = found?;
            if claims.typ != TokenKind::Access {
                return Err(password_change_required());
            }
            let user = panel_user(db, claims).await?;
            if user.must_change_password {
                return Err(password_change_required());
            }
            Ok(PanelSession { user })
        })
    }
}

/// A panel user allowed to change the password: a full session, or the
/// restricted token a temporary password gives.
#[derive(Debug, Clone)]
pub struct PanelPasswordChange {
    pub user: PanelUserRecord,
}

impl FromRequest for PanelPasswordChange {
    type Error = ApiError;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = claims(req, Audience::Panel).and_then(|c| database(req).map(|db| (c, db)));
        Box::pin(async move {
            let (claims, db) = found?;
            let user = panel_user(db, claims).await?;
            Ok(PanelPasswordChange { user })
        })
    }
}
