//! Field checks more than one area applies to its requests.

use crate::http::codes::ErrorCode;
use crate::http::problem::FieldError;

/// A plausible email address, by the domain's one rule
/// ([`domain::email::EmailAddress`]).
pub fn email_error(pointer: &str, email: &str) -> Option<FieldError> {
    domain::email::EmailAddress::parse(email)
        .err()
        .map(|_| FieldError::new(pointer, ErrorCode::InvalidEmail, "not an email address"))
}

/// The checkout and the add-on purchase need the terms accepted.
pub fn terms_error(accepted: bool) -> Option<FieldError> {
    (!accepted).then(|| {
        FieldError::new(
            "/accept_terms",
            ErrorCode::TermsNotAccepted,
            "the terms must be accepted",
        )
    })
}
