//! Why the back office's operations fail, and how each failure answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use uuid::Uuid;

/// A credentials reissue refused.
#[derive(Debug)]
pub enum ReissueError {
    ServiceNotFound(Uuid),
}

impl From<ReissueError> for ApiError {
    fn from(error: ReissueError) -> Self {
        match error {
            ReissueError::ServiceNotFound(id) => {
                ApiError::not_found(ErrorCode::ServiceNotFound, format!("no service {id}"))
            }
        }
    }
}
