//! Why the customer's order operations fail (besides the checkout's own
//! `CheckoutError`), one type per operation, and how each answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use domain::OrderStatus;
use uuid::Uuid;

/// Reading one of my orders refused.
#[derive(Debug)]
pub enum GetOrderError {
    /// No such order, or another customer's (the same answer).
    NotFound(Uuid),
}

impl From<GetOrderError> for ApiError {
    fn from(error: GetOrderError) -> Self {
        match error {
            GetOrderError::NotFound(id) => order_not_found(id),
        }
    }
}

/// Cancelling one of my orders refused.
#[derive(Debug)]
pub enum CancelOrderError {
    /// No such order, or another customer's (the same answer).
    NotFound(Uuid),
    /// Paid, fulfilled or expired: past cancelling.
    NotCancellable(OrderStatus),
}

impl From<CancelOrderError> for ApiError {
    fn from(error: CancelOrderError) -> Self {
        match error {
            CancelOrderError::NotFound(id) => order_not_found(id),
            CancelOrderError::NotCancellable(status) => ApiError::conflict(
                ErrorCode::OrderNotCancellable,
                format!(
                    "the order is {} and can no longer be cancelled",
                    status.as_str()
                ),
            ),
        }
    }
}

/// No such order (or one the caller may not see: the same answer), for
/// every area that reads orders by id.
pub fn order_not_found(id: Uuid) -> ApiError {
    ApiError::not_found(ErrorCode::OrderNotFound, format!("no order {id}"))
}
