//! Background jobs, started and stopped with the server. Each is a [`Job`]
//! run by the one [`runner`]: it claims its work from a table under a lease
//! (the SQL is in `persistence`), so several server processes can share one
//! database, and a server that dies leaves its work to the others.
//!
//! [`Job`]: runner::Job

pub mod expiry;
pub mod outbox;
pub mod runner;
