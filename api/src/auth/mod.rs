//! Who is calling: password hashing (argon2id, off the async executor),
//! access tokens (HS256 JWT, one audience each), rotating refresh tokens,
//! the bearer extractors handlers ask for, the one password login and its
//! throttling.

pub mod extract;
pub mod login;
pub mod passwords;
pub mod proxies;
pub mod session;
pub mod throttle;
pub mod tokens;

pub use extract::{CustomerAuth, OperatorAuth, PanelPasswordChange, PanelSession};
pub use login::PasswordLogin;
pub use passwords::{PasswordHasher, hash_temporary};
pub use tokens::{TokenKind, Tokens};
