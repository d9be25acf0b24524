//! Why reading the catalog fails, and how it answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;

/// A product not shown.
#[derive(Debug)]
pub enum ProductError {
    /// No product of the catalog in force has this code.
    NotFound(String),
}

impl From<ProductError> for ApiError {
    fn from(error: ProductError) -> Self {
        match error {
            ProductError::NotFound(code) => ApiError::not_found(
                ErrorCode::ProductNotFound,
                format!("no product `{code}` in the catalog"),
            ),
        }
    }
}
