//! The harness the persistence tests share: a fresh database per scenario,
//! a new SQLite file or a new PostgreSQL database named by a UUID.
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`); when it cannot be reached the
//! PostgreSQL half is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure.

#![allow(dead_code)]

use persistence::{Database, DatabaseSettings};
use sea_orm::ConnectionTrait;
use std::fmt::Debug;
use std::future::Future;
use uuid::Uuid;

/// What a scenario is given, made from the migrated database and its URL.
pub trait FromTestDatabase {
    fn from_test_database(db: Database, url: String) -> Self;
}

impl FromTestDatabase for Database {
    fn from_test_database(db: Database, _url: String) -> Self {
        db
    }
}

/// Runs `scenario` on a fresh, migrated database of `kind`, then drops the
/// database even when the scenario panicked.
pub async fn run<S, F, Fut>(kind: Kind, scenario: F)
where
    S: FromTestDatabase,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(test_db) = TestDatabase::create(kind).await else {
        return;
    };
    let settings = DatabaseSettings {
        url: test_db.url.clone(),
        max_connections: 8,
        busy_timeout: std::time::Duration::from_secs(10),
    };
    let db = Database::connect(&settings).await.must("connecting");
    db.migrate().await.must("migrating");
    let given = S::from_test_database(db.clone(), test_db.url.clone());
    let outcome = tokio::spawn(scenario(given)).await;
    db.close().await;
    test_db.drop_database().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("scenario did not finish: {error}"),
        }
    }
}

/// `both_databases!(scenario, …)`: tests `scenario::sqlite` and
/// `scenario::postgres` for each async fn `scenario(S)`, where `S` is made
/// by [`FromTestDatabase`].
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::common::run($crate::common::Kind::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::common::run($crate::common::Kind::Postgres, super::$name).await;
            }
        }
    )*};
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

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
}

fn postgres_base() -> String {
    std::env::var("ATTIVA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn postgres_required() -> bool {
    std::env::var("ATTIVA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A database made for one scenario.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(kind: Kind) -> Option<TestDatabase> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().must("tempdir");
                Some(TestDatabase {
                    url: format!("sqlite://{}/test.db?mode=rwc", dir.path().display()),
                    postgres_name: None,
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let admin = match sea_orm::Database::connect(format!(
                    "{}/postgres",
                    postgres_base()
                ))
                .await
                {
                    Ok(admin) => admin,
                    Err(error) if !postgres_required() => {
                        eprintln!(
                            "SKIPPED on PostgreSQL (unreachable: {error}); set ATTIVA_REQUIRE_POSTGRES=1 to fail instead"
                        );
                        return None;
                    }
                    Err(error) => panic!(
                        "PostgreSQL is required (ATTIVA_REQUIRE_POSTGRES=1) but unreachable: {error}"
                    ),
                };
                let name = format!("attiva_ptest_{}", Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .must("creating the test database");
                let _ = admin.close().await;
                Some(TestDatabase {
                    url: format!("{}/{name}", postgres_base()),
                    postgres_name: Some(name),
                    _dir: None,
                })
            }
        }
    }

    pub async fn drop_database(&self) {
        if let Some(name) = &self.postgres_name
            && let Ok(admin) =
                sea_orm::Database::connect(format!("{}/postgres", postgres_base())).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}
