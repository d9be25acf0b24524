//! Background jobs, started and stopped with the server. Each claims its
//! work from a table (the SQL is in `persistence`), so several server
//! processes can share one database.

pub mod expiry;
pub mod outbox;
