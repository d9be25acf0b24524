//! Why the services area's operations fail, one type per operation, and
//! how each failure answers.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use crate::orders::checkout::CheckoutError;
use persistence::StoreError;
use uuid::Uuid;

/// One of my services not shown (`GET /v1/services/{id}`), nor bought for.
#[derive(Debug)]
pub enum ServiceAccessError {
    /// No such service, or another customer's (the same answer).
    NotFound(Uuid),
    Store(StoreError),
}

impl From<StoreError> for ServiceAccessError {
    fn from(error: StoreError) -> Self {
        ServiceAccessError::Store(error)
    }
}

impl From<ServiceAccessError> for ApiError {
    fn from(error: ServiceAccessError) -> Self {
        match error {
            ServiceAccessError::NotFound(id) => ApiError::not_found(
                ErrorCode::ServiceNotFound,
                format!("no service {id} of yours"),
            ),
            ServiceAccessError::Store(error) => error.into(),
        }
    }
}

/// An add-on purchase for an owned service refused.
#[derive(Debug)]
pub enum AddonPurchaseError {
    /// The code names no add-on of the catalog.
    NotAnAddon(String),
    /// The checkout's rules refused it (eligibility, a pending add-on…).
    Checkout(CheckoutError),
}

impl From<CheckoutError> for AddonPurchaseError {
    fn from(error: CheckoutError) -> Self {
        AddonPurchaseError::Checkout(error)
    }
}

impl From<ApiError> for AddonPurchaseError {
    fn from(error: ApiError) -> Self {
        AddonPurchaseError::Checkout(CheckoutError::Failed(error))
    }
}

impl From<StoreError> for AddonPurchaseError {
    fn from(error: StoreError) -> Self {
        AddonPurchaseError::Checkout(CheckoutError::Failed(error.into()))
    }
}

impl From<AddonPurchaseError> for ApiError {
    fn from(error: AddonPurchaseError) -> Self {
        match error {
            AddonPurchaseError::NotAnAddon(code) => {
                ApiError::not_found(ErrorCode::ProductNotFound, format!("no add-on `{code}`"))
            }
            AddonPurchaseError::Checkout(error) => error.into(),
        }
    }
}
