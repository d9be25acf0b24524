//! RFC 9457 problem details: the one error shape of the API. Every error
//! has a stable `code`; validation errors list JSON pointers to the fields.
//! 5xx errors are logged with their source chain and never show it.

pub use super::codes::ErrorCode;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field in the request body, or the
    /// name of a path/query parameter or header.
    #[schema(example = "/years")]
    pub pointer: String,
    #[schema(example = "years_out_of_bounds")]
    pub code: String,
    #[schema(example = "years must be between 1 and 10")]
    pub detail: String,
}

/// A refused field the domain decided (a contact's, a wizard step's): its
/// pointer, its code as the domain spells it, its sentence.
impl From<domain::fields::FieldError> for FieldError {
    fn from(error: domain::fields::FieldError) -> Self {
        FieldError::decided(error.pointer, error.code.as_str(), error.detail)
    }
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::decided(pointer, code.as_str(), detail)
    }

    /// A field error whose code a domain rule decided (a holder or
    /// password rule: the domain's own enums name them).
    pub fn decided(
        pointer: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            pointer: pointer.into(),
            code: code.to_owned(),
            detail: detail.into(),
        }
    }
}

/// A broken eligibility rule, in a problem about a cart or a purchase.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ProblemViolation {
    #[schema(example = "addon_requires_base")]
    pub code: String,
    /// The offending cart item (or purchase line).
    pub item_id: uuid::Uuid,
    pub detail: String,
}

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:attiva:problem:validation_failed",
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "the request has 1 invalid field",
    "code": "validation_failed",
    "errors": [{"pointer": "/years", "code": "years_out_of_bounds", "detail": "years must be between 1 and 10"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:attiva:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    pub status: u16,
    /// A sentence for people about this occurrence.
    pub detail: String,
    /// Stable machine code; clients branch on this, never on `detail`.
    pub code: String,
    /// Validation errors, one per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Eligibility violations (`cart_not_eligible`), every one of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<ProblemViolation>,
}

/// The error every handler returns (boxed: errors travel far and should
/// keep `Result`s small).
pub struct ApiError(Box<Inner>);

struct Inner {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    violations: Vec<ProblemViolation>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    /// Answer with `Connection: close` and close the connection after.
    close: bool,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError(Box::new(Inner {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            violations: Vec::new(),
            headers: Vec::new(),
            close: false,
            source: None,
        }))
    }

    pub fn not_found(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "the request has 1 invalid field".to_owned(),
            n => format!("the request has {n} invalid fields"),
        };
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            detail,
        );
        error.0.errors = errors;
        error
    }

    /// 422 for one field.
    pub fn field(pointer: &str, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(pointer, code, detail)])
    }

    /// A 500 that logs `source` and tells the client nothing about it.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "the server could not complete the request; it has been logged",
        );
        error.0.source = Some(source.into());
        error
    }

    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "a dependency of the server is unavailable; retry later",
        );
        error.0.source = Some(source.into());
        error
    }

    /// Names the fields (or parts) a problem other than a 422 is about:
    /// the steps a 409 of the FE wizard names.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    pub fn with_violations(mut self, violations: Vec<ProblemViolation>) -> Self {
        self.0.violations = violations;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// Closes the connection after this answer (`Connection: close`): for
    /// a request whose body was not read to its end, so the rest of it is
    /// not taken for the next request.
    pub fn closing_connection(mut self) -> Self {
        self.0.close = true;
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:attiva:problem:{}", self.0.code),
            title: self
                .0
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.as_str().to_owned(),
            errors: self.0.errors.clone(),
            violations: self.0.violations.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.0.status)
            .field("code", &self.0.code)
            .field("detail", &self.0.detail)
            .field("source", &self.0.source)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.code,
            self.0.detail
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.status.is_server_error() {
            match &self.0.source {
                Some(source) => {
                    tracing::error!(code = self.0.code.as_str(), error = ?source, "request failed")
                }
                None => tracing::error!(code = self.0.code.as_str(), "request failed"),
            }
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = HttpResponse::build(self.0.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        for (name, value) in &self.0.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        if self.0.close {
            response.force_close();
        }
        response.body(body)
    }
}

impl From<persistence::StoreError> for ApiError {
    /// A unique constraint that refused a write means another request
    /// wrote the same thing first: 409, for the client to look again. The
    /// rest is the server's fault: 500, logged.
    fn from(error: persistence::StoreError) -> Self {
        match error {
            persistence::StoreError::Conflict(_) => {
                tracing::info!(error = %error, "a concurrent write won");
                ApiError::conflict(
                    ErrorCode::Conflict,
                    "another request changed the same data at the same time; read it again and retry",
                )
            }
            persistence::StoreError::Corrupt(what) => {
                // A value the code cannot read back: a bug or a manual
                // edit, never the client's fault.
                tracing::error!(what = %what, "the database holds a value the code cannot read");
                ApiError::internal(persistence::StoreError::Corrupt(what))
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_conflict_is_a_409_and_the_rest_a_500() {
        let conflict = ApiError::from(persistence::StoreError::Conflict("orders_cart_id".into()));
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(conflict.code(), ErrorCode::Conflict);
        assert!(!conflict.problem().detail.contains("orders_cart_id"));
        let corrupt = ApiError::from(persistence::StoreError::Corrupt("status `x`".into()));
        assert_eq!(corrupt.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(corrupt.code(), ErrorCode::InternalError);
    }
}
