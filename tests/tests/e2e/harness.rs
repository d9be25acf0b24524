//! The harness's own promise: a scenario that panics with its server still
//! running leaves no PostgreSQL database behind, and still fails.

use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tests::testkit::{self, Backend, postgres_database_exists};
use tests::{FreshDatabase, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_that_panics_with_its_server_running_drops_its_database() {
    let seen: Arc<Mutex<Option<FreshDatabase>>> = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let outcome = AssertUnwindSafe(testkit::run(Backend::Postgres, |database| async move {
        if let Ok(mut seen) = record.lock() {
            *seen = Some(database.clone());
        }
        let app = TestApp::start(&database, &[]).await;
        let ready = app.get("/health/ready").await;
        assert!(ready.status.is_success(), "{}", ready.text);
        // Never stopped: the server's task (and its pool) outlive the
        // unwinding, as when an assertion fails mid-story.
        let _unstopped = app;
        panic!("the scenario fails on purpose");
    }))
    .catch_unwind()
    .await;
    let Some(database) = seen.lock().ok().and_then(|seen| seen.clone()) else {
        eprintln!("SKIPPED: PostgreSQL unreachable");
        return;
    };
    assert!(outcome.is_err(), "the panic reaches the test");
    let name = database.url.rsplit('/').next().unwrap_or_default();
    assert!(
        !postgres_database_exists(name).await,
        "database {name} outlived its panicking scenario"
    );
}
