//! Why the carts' operations fail, and how each failure answers: opening
//! a cart (the token, the owner) and changing its lines.

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use persistence::StoreError;
use persistence::cart::CartChangeError;
use uuid::Uuid;

/// A cart the caller may not open.
#[derive(Debug)]
pub enum CartAccessError {
    /// Neither a token nor a customer's bearer token was sent.
    TokenRequired,
    /// A customer's token was sent for an anonymous cart, without its token.
    AnonymousNeedsToken,
    /// The `X-Cart-Token` is not this cart's.
    TokenInvalid,
    /// No such cart, or another customer's (the same answer).
    NotFound(Uuid),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for CartAccessError {
    fn from(error: StoreError) -> Self {
        CartAccessError::Store(error)
    }
}

impl From<CartAccessError> for ApiError {
    fn from(error: CartAccessError) -> Self {
        let token_required = |detail: &'static str| {
            ApiError::unauthorized(ErrorCode::CartTokenRequired, detail).with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("X-Cart-Token"),
            )
        };
        match error {
            CartAccessError::TokenRequired => {
                token_required("send the cart's token in X-Cart-Token")
            }
            CartAccessError::AnonymousNeedsToken => {
                token_required("this cart is anonymous: send its token in X-Cart-Token")
            }
            CartAccessError::TokenInvalid => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::CartTokenInvalid,
                "the X-Cart-Token does not open this cart",
            ),
            CartAccessError::NotFound(id) => {
                ApiError::not_found(ErrorCode::CartNotFound, format!("no cart {id}"))
            }
            CartAccessError::Store(error) => error.into(),
        }
    }
}

/// A change to a cart's lines the store refused.
#[derive(Debug)]
pub struct CartChangeRefused {
    pub cart_id: Uuid,
    pub error: CartChangeError,
}

impl From<CartChangeRefused> for ApiError {
    fn from(CartChangeRefused { cart_id, error }: CartChangeRefused) -> Self {
        match error {
            CartChangeError::CartNotFound => {
                ApiError::not_found(ErrorCode::CartNotFound, format!("no cart {cart_id}"))
            }
            CartChangeError::NotOpen => {
                ApiError::conflict(ErrorCode::CartNotOpen, "the cart has been checked out")
            }
            CartChangeError::Full(n) => ApiError::conflict(
                ErrorCode::CartFull,
                format!("a cart holds at most {n} items"),
            ),
            CartChangeError::LineNotFound => {
                ApiError::not_found(ErrorCode::CartItemNotFound, "no such item in this cart")
            }
            CartChangeError::Busy => ApiError::conflict(
                ErrorCode::CartBusy,
                "the cart kept changing while the item was added; retry",
            ),
            CartChangeError::Store(error) => error.into(),
        }
    }
}
