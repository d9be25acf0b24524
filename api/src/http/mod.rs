//! What every area's handlers share on the HTTP side: the JSON body and
//! query-string extractors, problem+json errors, idempotency keys, and the
//! one middleware (request id, security headers, metrics, access log).

pub mod codes;
pub mod idempotency;
pub mod json;
pub mod observability;
pub mod problem;
pub mod query;
