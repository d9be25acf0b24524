//! Expires unpaid orders past their date, every `sweep` interval. The
//! update is conditional (`awaiting_payment` only), so several servers
//! sweeping the same database expire each order once.

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

pub fn start(db: Database, sweep: Duration) -> RunningExpiry {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            match db.expire_orders(Utc::now()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "unpaid orders expired"),
                Err(error) => tracing::warn!(%error, "expiring orders failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(sweep) => {}
                _ = stopped.changed() => break,
            }
        }
    });
    RunningExpiry { stop, task }
}
