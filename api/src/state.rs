//! Shared, read-only pieces of the application handed to every handler.

/// Sane limits on what one client may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_cart_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_cart_items: 50 }
    }
}

/// How long issued things live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub temporary_password: std::time::Duration,
}
