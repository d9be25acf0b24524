//! Why the customer area's operations fail, one type per operation, and
//! how each failure answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;

/// Sign-up refused.
#[derive(Debug)]
pub enum SignUpError {
    /// An account has this email (compared case-insensitively).
    EmailTaken,
}

impl From<SignUpError> for ApiError {
    fn from(error: SignUpError) -> Self {
        match error {
            SignUpError::EmailTaken => ApiError::conflict(
                ErrorCode::EmailTaken,
                "an account with this email already exists",
            ),
        }
    }
}

/// A refresh token not exchanged.
#[derive(Debug)]
pub enum RefreshError {
    /// Used before: its whole family is revoked now.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
    /// The panel user the token was issued to no longer exists.
    SubjectGone,
    /// A panel user still has to change the temporary password.
    PasswordChangeRequired,
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Reused => ApiError::unauthorized(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used; every session of this login is revoked",
            ),
            RefreshError::Invalid => ApiError::unauthorized(
                ErrorCode::InvalidRefreshToken,
                "unknown, expired or revoked refresh token",
            ),
            RefreshError::SubjectGone => ApiError::unauthorized(
                ErrorCode::InvalidRefreshToken,
                "the panel user no longer exists",
            ),
            RefreshError::PasswordChangeRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::PasswordChangeRequired,
                "change the temporary password first",
            ),
        }
    }
}
