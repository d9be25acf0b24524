//! The end-to-end harness (zero2prod's `spawn_app`): the real server on a
//! random port, against a fresh database — a new SQLite file, or a new
//! PostgreSQL database named by a UUID, made and dropped by the test kit
//! (`testkit`, shared with the persistence tests) — with a client and the
//! steps of the user's story as methods of [`TestApp`] (`story`), so that a
//! test reads like the help page it follows.
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`). When it cannot be reached the
//! PostgreSQL half of each test is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure (CI).

mod app;
mod mail;
pub mod story;

pub use app::{Reply, TestApp, repo_root, test_settings};
pub use mail::{Mail, read_mails};
pub use testkit::{self, Backend, FreshDatabase};
