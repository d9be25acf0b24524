//! Field checks more than one area applies to its requests.

use crate::http::codes::ErrorCode;
use crate::http::problem::FieldError;

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
    (!valid).then(|| FieldError::new(pointer, ErrorCode::InvalidEmail, "not an email address"))
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
