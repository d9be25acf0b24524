//! Why the wizard's operations fail, and how each failure answers; and the
//! one answer of an operation that needs a configured service.

use crate::http::codes::ErrorCode;
use crate::http::problem::{ApiError, FieldError};
use actix_web::http::StatusCode;
use domain::ServiceStatus;
use domain::wizard::{SetupIncomplete, Step, StepOutOfOrder};

/// `PUT /v1/panel/setup/steps/{step}` refused.
#[derive(Debug)]
pub enum SaveStepError {
    /// The path names no step.
    UnknownStep,
    /// An earlier step is not saved yet.
    OutOfOrder(StepOutOfOrder),
    /// The body breaks the schema's lengths or the step's rules: every
    /// refused field.
    Invalid(Vec<FieldError>),
}

/// A step's position in the wizard's `steps` (`/steps/0` is the first),
/// the pointer the 409s name a step by.
fn step_pointer(step: Step) -> String {
    let index = Step::ALL.iter().position(|s| *s == step).unwrap_or(0);
    format!("/steps/{index}")
}

/// The domain's field errors as the 422's, pointing into the request body.
pub fn field_errors(errors: Vec<domain::FieldError>) -> Vec<FieldError> {
    errors.into_iter().map(FieldError::from).collect()
}

impl From<SaveStepError> for ApiError {
    fn from(error: SaveStepError) -> Self {
        match error {
            SaveStepError::UnknownStep => ApiError::not_found(
                ErrorCode::NotFound,
                format!(
                    "no such resource: step must be one of {}",
                    Step::ALL.map(Step::as_str).join(", ")
                ),
            ),
            SaveStepError::OutOfOrder(error) => {
                ApiError::conflict(ErrorCode::StepOutOfOrder, error.to_string()).with_errors(vec![
                    FieldError::new(
                        step_pointer(error.missing),
                        ErrorCode::Required,
                        format!("{}: save it first", error.missing),
                    ),
                ])
            }
            SaveStepError::Invalid(errors) => ApiError::validation(errors),
        }
    }
}

/// `POST /v1/panel/setup/complete` refused.
#[derive(Debug)]
pub enum CompleteError {
    /// Steps not saved (or saved but no longer valid).
    Incomplete(SetupIncomplete),
    /// The service is neither awaiting configuration nor active.
    NotConfigurable(ServiceStatus),
}

impl From<CompleteError> for ApiError {
    fn from(error: CompleteError) -> Self {
        match error {
            CompleteError::Incomplete(error) => {
                let errors = error
                    .missing
                    .iter()
                    .map(|step| {
                        FieldError::new(
                            step_pointer(*step),
                            ErrorCode::Required,
                            format!("{step}: not saved yet"),
                        )
                    })
                    .collect();
                ApiError::conflict(ErrorCode::SetupIncomplete, error.to_string())
                    .with_errors(errors)
            }
            CompleteError::NotConfigurable(status) => ApiError::conflict(
                ErrorCode::Conflict,
                format!(
                    "the service is {}: it cannot be configured",
                    status.as_str()
                ),
            ),
        }
    }
}

/// 403 `setup_required`: the panel's operation needs the FE configured.
pub fn setup_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::SetupRequired,
        "complete the FE configuration first: GET /v1/panel/setup, then save its steps and POST /v1/panel/setup/complete",
    )
}
