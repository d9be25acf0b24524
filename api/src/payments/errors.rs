//! Why the payments area's operations fail, one type per operation, and
//! how each failure answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use crate::orders::errors::order_not_found;
use domain::OrderStatus;
use uuid::Uuid;

/// The provider's webhook refused, before anything changed.
#[derive(Debug)]
pub enum WebhookError {
    /// The `Payment-Signature` is missing, stale or matches no secret.
    BadSignature(&'static str),
    /// No order has the event's order number.
    UnknownOrder(String),
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::BadSignature(why) => {
                ApiError::unauthorized(ErrorCode::InvalidSignature, why)
            }
            WebhookError::UnknownOrder(number) => {
                ApiError::not_found(ErrorCode::OrderNotFound, format!("no order {number}"))
            }
        }
    }
}

/// An operator's payment (`POST /v1/backoffice/orders/{id}/payments`) refused.
#[derive(Debug)]
pub enum RegisterPaymentError {
    OrderNotFound(Uuid),
    /// Another payment (or an event) paid it first.
    AlreadyPaid,
    /// Cancelled or expired: an operator's money is not taken for it.
    NotPayable(OrderStatus),
}

impl From<RegisterPaymentError> for ApiError {
    fn from(error: RegisterPaymentError) -> Self {
        match error {
            RegisterPaymentError::OrderNotFound(id) => order_not_found(id),
            RegisterPaymentError::AlreadyPaid => ApiError::conflict(
                ErrorCode::OrderAlreadyPaid,
                "the order has already been paid",
            ),
            RegisterPaymentError::NotPayable(status) => ApiError::conflict(
                ErrorCode::OrderNotPayable,
                format!("the order is {}", status.as_str()),
            ),
        }
    }
}

/// A fulfilment retry (`POST /v1/backoffice/orders/{id}/fulfilment/retry`)
/// refused.
#[derive(Debug)]
pub enum RetryFulfilmentError {
    OrderNotFound(Uuid),
    /// Only a paid, unfulfilled order is retried.
    NotRetryable(OrderStatus),
}

impl From<RetryFulfilmentError> for ApiError {
    fn from(error: RetryFulfilmentError) -> Self {
        match error {
            RetryFulfilmentError::OrderNotFound(id) => order_not_found(id),
            RetryFulfilmentError::NotRetryable(status) => ApiError::conflict(
                ErrorCode::OrderNotRetryable,
                format!(
                    "the order is {}: only a paid, unfulfilled order is retried",
                    status.as_str()
                ),
            ),
        }
    }
}

/// Clearing a review flag refused.
#[derive(Debug)]
pub enum ClearReviewError {
    OrderNotFound(Uuid),
}

impl From<ClearReviewError> for ApiError {
    fn from(error: ClearReviewError) -> Self {
        match error {
            ClearReviewError::OrderNotFound(id) => order_not_found(id),
        }
    }
}
