//! Why the panel's operations fail, one type per operation, and how each
//! failure answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::{ApiError, FieldError};
use actix_web::http::StatusCode;
use domain::PasswordError;

/// A panel login refused after the credentials were right.
#[derive(Debug)]
pub enum PanelLoginError {
    /// The temporary password's time ran out before it was changed.
    TemporaryPasswordExpired,
}

impl From<PanelLoginError> for ApiError {
    fn from(error: PanelLoginError) -> Self {
        match error {
            PanelLoginError::TemporaryPasswordExpired => temporary_password_expired(),
        }
    }
}

/// The password change (`POST /v1/panel/password`) refused.
#[derive(Debug)]
pub enum PasswordChangeError {
    /// The temporary password's time ran out before it was changed.
    TemporaryPasswordExpired,
    /// The new password breaks the policy.
    Policy(PasswordError),
    /// The current password given is not the user's.
    WrongCurrentPassword,
    /// Another change (or a reissue) moved the credentials on meanwhile.
    CredentialsChanged,
}

impl From<PasswordChangeError> for ApiError {
    fn from(error: PasswordChangeError) -> Self {
        match error {
            PasswordChangeError::TemporaryPasswordExpired => temporary_password_expired(),
            PasswordChangeError::Policy(error) => ApiError::validation(vec![FieldError::decided(
                "/new_password",
                error.code(),
                error.to_string(),
            )]),
            PasswordChangeError::WrongCurrentPassword => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::InvalidCurrentPassword,
                "the current password is wrong",
            ),
            PasswordChangeError::CredentialsChanged => ApiError::conflict(
                ErrorCode::CredentialsChanged,
                "the credentials changed meanwhile; log in again",
            ),
        }
    }
}

fn temporary_password_expired() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::TemporaryPasswordExpired,
        "the temporary password has expired; ask for new credentials",
    )
}
