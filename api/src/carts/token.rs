//! The anonymous cart's token: drawn at creation, shown once, stored as its
//! SHA-256, checked in constant time (also by the checkout, which opens an
//! anonymous cart with it).

use actix_web::http::header::HeaderName;
use persistence::cart::Cart;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The header that carries an anonymous cart's token.
pub const CART_TOKEN: HeaderName = HeaderName::from_static("x-cart-token");

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// True when `token` is this cart's token (compared in constant time).
pub fn token_opens(cart: &Cart, token: &str) -> bool {
    same_digest(&hash_token(token), &cart.token_hash)
}

/// Constant-time comparison of two equal-length hex digests.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
