//! How the contacts' operations fail. Each takes
//! `setup::gate::ConfiguredPanel`: 403 `setup_required` until the FE
//! configuration is complete.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use uuid::Uuid;

#[derive(Debug)]
pub enum ContactError {
    /// Not a contact of this service (another service's answers the same).
    NotFound(Uuid),
    /// `If-Match` names another version than the current one.
    VersionDiffers(i64),
    /// A change without `If-Match` met a newer version at every attempt.
    KeptChanging(Uuid),
    /// Invoices point to it.
    InUse(Uuid),
}

impl From<ContactError> for ApiError {
    fn from(error: ContactError) -> Self {
        match error {
            ContactError::NotFound(id) => {
                ApiError::not_found(ErrorCode::ContactNotFound, format!("no contact {id}"))
            }
            ContactError::VersionDiffers(current) => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                ErrorCode::PreconditionFailed,
                format!(
                    "the contact changed meanwhile: it is at version {current} (ETag \"{current}\"); read it again"
                ),
            ),
            ContactError::KeptChanging(id) => ApiError::conflict(
                ErrorCode::Conflict,
                format!("contact {id} kept changing while this change was made; send it again"),
            ),
            ContactError::InUse(id) => ApiError::conflict(
                ErrorCode::ContactInUse,
                format!("invoices point to contact {id}; it cannot be deleted"),
            ),
        }
    }
}
