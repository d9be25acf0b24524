//! The guarantee the test kit gives every scenario: its database is gone
//! afterwards, whether the scenario passed or panicked, and a panic still
//! fails the test.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use testkit::{Backend, FreshDatabase, postgres_database_exists};

/// Runs a scenario that records its database, then does `then` (panic or
/// not), in a task of its own as a test would; returns the database it was
/// given (`None`: skipped) and the panic message, if it panicked.
async fn scenario_that(backend: Backend, panics: bool) -> (Option<FreshDatabase>, Option<String>) {
    let seen: Arc<Mutex<Option<FreshDatabase>>> = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let outcome = tokio::spawn(testkit::run(backend, move |database| async move {
        if let Ok(mut seen) = record.lock() {
            *seen = Some(database.clone());
        }
        // A connection the scenario never closes, as a server left running
        // by a failed test would hold: the drop must not wait for it.
        let connection = sea_orm::Database::connect(database.url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to the scenario's database: {e}"));
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
            drop(connection);
        });
        assert!(!panics, "the scenario fails on purpose");
    }))
    .await;
    let message = match outcome {
        Ok(()) => None,
        Err(error) => {
            let panic = error
                .try_into_panic()
                .unwrap_or_else(|e| panic!("the scenario did not finish: {e}"));
            Some(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
            )
        }
    };
    let database = seen.lock().ok().and_then(|seen| seen.clone());
    (database, message)
}

fn postgres_name(database: &FreshDatabase) -> String {
    database
        .url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The folder of a SQLite test database (`sqlite://<folder>/attiva.db?…`).
fn sqlite_folder(database: &FreshDatabase) -> PathBuf {
    let path = database
        .url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("not a SQLite URL: {}", database.url));
    PathBuf::from(path)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_scenario_still_drops_its_postgres_database() {
    let (database, panic) = scenario_that(Backend::Postgres, true).await;
    let Some(database) = database else {
        eprintln!("SKIPPED: PostgreSQL unreachable");
        return;
    };
    let name = postgres_name(&database);
    assert!(name.starts_with("attiva_test_"), "{name}");
    assert_eq!(
        panic.as_deref(),
        Some("the scenario fails on purpose"),
        "the panic reaches the test"
    );
    assert!(
        !postgres_database_exists(&name).await,
        "database {name} outlived its panicking scenario"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_scenario_drops_its_postgres_database() {
    let (database, panic) = scenario_that(Backend::Postgres, false).await;
    let Some(database) = database else {
        eprintln!("SKIPPED: PostgreSQL unreachable");
        return;
    };
    assert_eq!(panic, None);
    let name = postgres_name(&database);
    assert!(
        !postgres_database_exists(&name).await,
        "database {name} outlived its scenario"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_scenario_leaves_no_sqlite_file() {
    let (database, panic) = scenario_that(Backend::Sqlite, true).await;
    let database = database.unwrap_or_else(|| panic!("SQLite is never skipped"));
    assert_eq!(panic.as_deref(), Some("the scenario fails on purpose"));
    let folder = sqlite_folder(&database);
    assert!(
        !folder.exists(),
        "{} outlived its scenario",
        folder.display()
    );
}
