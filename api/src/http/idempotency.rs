//! `Idempotency-Key` on POSTs that create or pay something (api.md): the
//! first response is stored and replayed for 24 h; the same key with a
//! different body → 422; while the first request runs, a repeat waits for
//! its response (briefly), then → 409; a first request unanswered after
//! two minutes died with its server, and a repeat runs in its place.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use persistence::Database;
use persistence::idempotency::IdempotencyBegin;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const TTL_HOURS: i64 = 24;
/// How long a repeat waits for the first request's response.
const WAIT: Duration = Duration::from_secs(10);
/// A first request still unanswered after this died with its server (no
/// request runs that long: database waits time out well before): a repeat
/// takes its key over and runs.
const ABANDONED_AFTER_SECS: i64 = 120;

/// The key of the request: 1 to 255 visible ASCII characters.
pub fn key_of(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get(&IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            ErrorCode::IdempotencyKeyRequired,
            "send an Idempotency-Key header (1-255 visible ASCII characters)",
        ));
    }
    Ok(key.to_owned())
}

/// A fingerprint of what the request asks for.
pub fn fingerprint<T: Serialize>(req: &HttpRequest, body: &T) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(req.path());
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(hasher.finalize())
}

fn respond(status: u16, body: String, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    let content_type = if status.is_client_error() || status.is_server_error() {
        crate::http::problem::PROBLEM_JSON
    } else {
        "application/json"
    };
    response.insert_header((header::CONTENT_TYPE, content_type));
    if replayed {
        response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    }
    response.body(body)
}

/// Runs `work` once per (scope, key); replays its stored response after.
/// Client errors are stored and replayed too; server errors are not, so a
/// retry with the same key runs again.
pub async fn run_once<F, Fut, T>(
    db: &Database,
    scope: &str,
    key: &str,
    fingerprint: &str,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    T: Serialize,
{
    let expires_at = chrono::Utc::now() + chrono::Duration::hours(TTL_HOURS);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = chrono::Utc::now();
        let abandoned_before = now - chrono::Duration::seconds(ABANDONED_AFTER_SECS);
        match db
            .idempotency_keys()
            .begin_idempotent(scope, key, fingerprint, now, expires_at, abandoned_before)
            .await?
        {
            IdempotencyBegin::Started => break,
            IdempotencyBegin::Replay { status, body } => return Ok(respond(status, body, true)),
            IdempotencyBegin::Mismatch => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used with a different request",
                ));
            }
            IdempotencyBegin::InFlight if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            IdempotencyBegin::InFlight => {
                return Err(ApiError::conflict(
                    ErrorCode::IdempotencyKeyInFlight,
                    "a request with this Idempotency-Key is still being processed; retry later",
                ));
            }
        }
    }
    match work().await {
        Ok((status, value)) => {
            let body = serde_json::to_string(&value).map_err(ApiError::internal)?;
            db.idempotency_keys()
                .finish_idempotent(scope, key, status.as_u16(), &body)
                .await?;
            Ok(respond(status.as_u16(), body, false))
        }
        Err(error) if error.status().is_client_error() => {
            let body = serde_json::to_string(&error.problem()).map_err(ApiError::internal)?;
            db.idempotency_keys()
                .finish_idempotent(scope, key, error.status().as_u16(), &body)
                .await?;
            Err(error)
        }
        Err(error) => {
            if let Err(cleanup) = db.idempotency_keys().abandon_idempotent(scope, key).await {
                tracing::warn!(error = %cleanup, "could not release an idempotency key");
            }
            Err(error)
        }
    }
}
