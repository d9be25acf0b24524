//! The one throwaway-database mechanism of Attiva's tests, shared by the
//! end-to-end harness (`tests`) and the persistence tests: every scenario
//! runs on a fresh database of its own — a new SQLite file in a temporary
//! folder, or a new PostgreSQL database named by a UUID — once on each,
//! and the database is dropped afterwards even when the scenario panicked.
//!
//! - [`run`] makes the database, runs the scenario, drops the database,
//!   then resumes the scenario's panic, if any.
//! - [`both_databases!`] turns async fns into two tests each,
//!   `name::sqlite` and `name::postgres`, that go through [`run`].
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`). When it cannot be reached the
//! PostgreSQL half of each scenario is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure (CI).
//!
//! This crate knows no crate of ours (so `persistence` can use it as a
//! dev-dependency): a scenario is given a [`FreshDatabase`] — the backend
//! and the URL — and connects, migrates or starts a server itself.

use futures_util::FutureExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// The database engines every scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a scenario is given: a database that exists, is empty (not even
/// migrated), and belongs to this scenario alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshDatabase {
    pub backend: Backend,
    pub url: String,
}

/// The PostgreSQL server the tests use, without a database name.
pub fn postgres_base() -> String {
    std::env::var("ATTIVA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Whether an unreachable PostgreSQL fails the tests instead of skipping
/// their PostgreSQL half (`ATTIVA_REQUIRE_POSTGRES=1`).
pub fn postgres_required() -> bool {
    std::env::var("ATTIVA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

async fn admin() -> Result<DatabaseConnection, sea_orm::DbErr> {
    sea_orm::Database::connect(format!("{}/postgres", postgres_base())).await
}

/// Whether the PostgreSQL server holds a database of this name (for
/// checking that a test database was dropped).
pub async fn postgres_database_exists(name: &str) -> bool {
    let admin = admin()
        .await
        .unwrap_or_else(|e| panic!("connecting to PostgreSQL: {e}"));
    let found = admin
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .unwrap_or_else(|e| panic!("listing databases: {e}"));
    let _ = admin.close().await;
    found.is_some()
}

/// A database made for one scenario; [`TestDatabase::drop_database`]
/// removes it (a SQLite file goes with its folder when this is dropped).
/// Scenarios do not hold one: [`run`] does, and gives them a
/// [`FreshDatabase`].
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    /// The PostgreSQL database's name (`attiva_test_<uuid>`).
    pub postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database, or `None` when PostgreSQL is unreachable and not
    /// required (the skip is reported on stderr).
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                let url = format!("sqlite://{}/attiva.db?mode=rwc", dir.path().display());
                Some(TestDatabase {
                    backend,
                    url,
                    postgres_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin = match admin().await {
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
                let name = format!("attiva_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
                let _ = admin.close().await;
                Some(TestDatabase {
                    backend,
                    url: format!("{}/{name}", postgres_base()),
                    postgres_name: Some(name),
                    _dir: None,
                })
            }
        }
    }

    /// What a scenario is given.
    pub fn fresh(&self) -> FreshDatabase {
        FreshDatabase {
            backend: self.backend,
            url: self.url.clone(),
        }
    }

    /// Drops a PostgreSQL test database, closing whatever connections the
    /// scenario left open (`WITH (FORCE)`).
    pub async fn drop_database(&self) {
        if let Some(name) = &self.postgres_name
            && let Ok(admin) = admin().await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

/// Runs `scenario` on a fresh database of `backend`, then drops the
/// database — also when the scenario panicked, whose panic is then resumed
/// so the test fails as it would have. Skips (returns) when PostgreSQL is
/// unreachable and not required.
///
/// The scenario runs in the test's own task (its future need not be `Send`
/// or `'static`); a panic inside it is caught with
/// [`FutureExt::catch_unwind`].
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(FreshDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let outcome = AssertUnwindSafe(scenario(database.fresh()))
        .catch_unwind()
        .await;
    database.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `both_databases!(a, b, …)`: for each async fn `a(FreshDatabase)`, a
/// module `a` with the tests `a::sqlite` and `a::postgres`, each running
/// it through [`run`] on a multi-threaded runtime (2 workers).
///
/// `both_databases!(with adapter; a, b, …)` runs `adapter(database, a)`
/// instead, for scenarios that take something made from the database (the
/// persistence tests' migrated repository, the e2e harness's server);
/// `both_databases!(with adapter, workers = 4; …)` sets the workers.
#[macro_export]
macro_rules! both_databases {
    (with $with:path, workers = $workers:tt; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn sqlite() {
                $crate::run($crate::Backend::Sqlite, |database| {
                    $with(database, super::$name)
                })
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
            async fn postgres() {
                $crate::run($crate::Backend::Postgres, |database| {
                    $with(database, super::$name)
                })
                .await;
            }
        }
    )*};
    (with $with:path; $($name:ident),* $(,)?) => {
        $crate::both_databases!(with $with, workers = 2; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::both_databases!(with $crate::given, workers = 2; $($name),*);
    };
}

/// The adapter of a scenario that takes the [`FreshDatabase`] itself.
pub async fn given<F, Fut>(database: FreshDatabase, scenario: F)
where
    F: FnOnce(FreshDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    scenario(database).await;
}
