//! The back office: operator login and operator-only actions.

use super::TAG;
use super::errors::ReissueError;
use crate::auth::session::{TokenResponse, UsernameLoginRequest, session};
use crate::auth::{OperatorAuth, PasswordLogin, Tokens};
use crate::config::settings::OrderSettings;
use crate::config::state::Lifetimes;
use crate::http::json::Json;
use crate::http::problem::{ApiError, Problem};
use crate::jobs::outbox::OutboxHandle;
use crate::mail::emails::{CredentialsReissuedEmail, credentials_reissued_email};
use crate::panel::credentials::issue_panel_credentials;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use domain::Audience;
use persistence::Database;
use persistence::outbox::NewEmail;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Operator login.
///
/// Throttled like every login, before the password is checked: 5 failures
/// in 15 minutes for the username from one client address, 100 from one
/// address over all usernames, 50 for the username over all addresses
/// (defaults); then 429 with `Retry-After`.
#[utoipa::path(
    operation_id = "backofficeLogin",
    tag = TAG,
    request_body(content = UsernameLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins (`too_many_attempts`) for the account from this address, from this address, or for the account; not checked. See Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/v1/backoffice/login")]
pub async fn login(
    login: PasswordLogin,
    tokens: web::Data<Tokens>,
    body: Json<UsernameLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let operator = login
        .authenticate(
            Audience::Backoffice,
            &request.username,
            &request.password,
            async |db: &Database, name: &str| db.operators().find_operator_by_username(name).await,
        )
        .await?;
    let (response, _) = session(
        login.db(),
        &tokens,
        Audience::Backoffice,
        operator.id,
        None,
        None,
    )
    .await?;
    tracing::info!(operator_id = %operator.id, "operator logged in");
    Ok(HttpResponse::Ok().json(response))
}

/// The outcome of a reissue. The operator never sees the password: it goes
/// to the holder by email.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReissuedDto {
    pub service_id: Uuid,
    #[schema(example = "fe-01234567897")]
    pub username: String,
    /// When the new temporary password stops working.
    pub temporary_password_expires_at: DateTime<Utc>,
}

/// Reissue panel credentials.
///
/// Issues a new temporary password for the service's panel user; the
/// previous one stops working at once, as do the user's sessions. The
/// password is never shown to the operator: it is emailed to the address
/// that received the activation email.
#[utoipa::path(
    operation_id = "reissueCredentials",
    tag = TAG,
    security(("backoffice" = [])),
    params(("id" = Uuid, Path, description = "FE service id")),
    responses(
        (status = 200, description = "Reissued", body = ReissuedDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/backoffice/services/{id}/credentials/reissue")]
#[allow(clippy::too_many_arguments)]
pub async fn reissue_credentials(
    id: web::Path<Uuid>,
    db: web::Data<Database>,
    lifetimes: web::Data<Lifetimes>,
    orders: web::Data<OrderSettings>,
    outbox: web::Data<OutboxHandle>,
    auth: OperatorAuth,
) -> Result<HttpResponse, ApiError> {
    let service = db
        .services()
        .find_service(*id)
        .await?
        .ok_or(ReissueError::ServiceNotFound(*id))?;
    let issued = issue_panel_credentials(&db, &service, lifetimes.temporary_password).await?;
    // The new temporary password goes to the holder, never to the operator:
    // to the address that received the activation email.
    let customer = db.customers().find_customer(service.customer_id).await?;
    let recipient = match db.orders().find_order_for_service(service.id).await? {
        Some(order) => order.activation_email,
        None => customer
            .as_ref()
            .map(|c| c.email.clone())
            .unwrap_or_default(),
    };
    let holder_name = customer
        .as_ref()
        .map(|c| c.holder.display_name())
        .unwrap_or_default();
    let email = credentials_reissued_email(&CredentialsReissuedEmail {
        holder_name,
        username: issued.username.clone(),
        temporary_password: issued.temporary_password.clone(),
        temporary_password_expires_at: issued.expires_at,
        panel_url: orders.panel_url.clone(),
    });
    db.outbox()
        .enqueue_email_now(&NewEmail {
            id: Uuid::new_v4(),
            kind: "credentials_reissued".into(),
            recipient,
            subject: email.subject,
            body_text: email.body_text,
            order_id: None,
        })
        .await?;
    outbox.wake();
    tracing::info!(operator_id = %auth.operator_id, service_id = %service.id, "panel credentials reissued");
    Ok(HttpResponse::Ok().json(ReissuedDto {
        service_id: service.id,
        username: issued.username,
        temporary_password_expires_at: issued.expires_at,
    }))
}
