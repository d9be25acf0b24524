//! Housekeeping every `sweep` interval: expires unpaid orders past their
//! date (the update is conditional, `awaiting_payment` only, so several
//! servers sweeping the same database expire each order once), and deletes
//! the login-throttle counters whose window has passed, so the table keeps
//! only the keys tried within one window.

use chrono::Utc;
use persistence::Database;
use std::time::Duration;
use tokio::sync::watch;

pub struct RunningExpiry {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningExpiry {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub fn start(db: Database, sweep: Duration, login_window: Duration) -> RunningExpiry {
    let login_window =
        chrono::Duration::from_std(login_window).unwrap_or(chrono::Duration::hours(1));
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            match db.expire_orders(Utc::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "unpaid orders expired"),
                Err(error) => tracing::warn!(%error, "expiring orders failed; will retry"),
            }
            match db.prune_login_attempts(Utc::now() - login_window).await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(count, "login-throttle counters pruned"),
                Err(error) => {
                    tracing::warn!(%error, "pruning login-throttle counters failed; will retry")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(sweep) => {}
                _ = stopped.changed() => break,
            }
        }
    });
    RunningExpiry { stop, task }
}
