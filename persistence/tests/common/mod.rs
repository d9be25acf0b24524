//! The harness the persistence tests share: a fresh, migrated database per
//! scenario, made and dropped by the test kit (`testkit`: a new SQLite
//! file or a new PostgreSQL database named by a UUID; see there for
//! `ATTIVA_TEST_POSTGRES_URL` and `ATTIVA_REQUIRE_POSTGRES`).

#![allow(dead_code)]

use persistence::{Database, DatabaseSettings};
use std::fmt::Debug;
use std::future::Future;

/// What a scenario is given, made from the migrated database and its URL.
pub trait FromTestDatabase {
    fn from_test_database(db: Database, url: String) -> Self;
}

impl FromTestDatabase for Database {
    fn from_test_database(db: Database, _url: String) -> Self {
        db
    }
}

/// The adapter [`testkit::run`] calls: connects to the fresh database,
/// migrates it, and runs `scenario` on what [`FromTestDatabase`] makes of
/// it. The database is dropped by the test kit, even when the scenario
/// panicked.
pub async fn migrated<S, F, Fut>(database: testkit::FreshDatabase, scenario: F)
where
    S: FromTestDatabase,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = ()>,
{
    let settings = DatabaseSettings {
        url: database.url.clone(),
        max_connections: 8,
        busy_timeout: std::time::Duration::from_secs(10),
        read_connections: 2,
    };
    let db = Database::connect(&settings).await.must("connecting");
    db.migrate().await.must("migrating");
    scenario(S::from_test_database(db.clone(), database.url)).await;
    db.close().await;
}

/// `both_databases!(scenario, …)`: tests `scenario::sqlite` and
/// `scenario::postgres` for each async fn `scenario(S)`, where `S` is made
/// by [`FromTestDatabase`] — the test kit's one mechanism
/// (`testkit::both_databases!`) with the [`migrated`] adapter.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        testkit::both_databases!(with $crate::common::migrated, workers = 4; $($name),*);
    };
}

pub trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: Debug> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("{what}: {error:?}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    fn must(self, what: &str) -> T {
        match self {
            Some(value) => value,
            None => panic!("{what}: nothing found"),
        }
    }
}
