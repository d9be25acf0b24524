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

/// How long a request body may take to arrive (`ATTIVA_BODY_TIMEOUT_SECS`),
/// counted from when its extractor starts reading, that is right after the
/// headers. actix's `client_request_timeout` covers the headers only.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);
