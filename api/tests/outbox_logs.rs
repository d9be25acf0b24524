//! What the outbox worker logs, captured by the process's one global
//! subscriber. This is a test binary of its own, holding one test: tracing
//! caches per call site whether anyone listens, and a test elsewhere hitting
//! the same `info!` on another thread with no subscriber can cache "nobody"
//! for a thread-local subscriber set there; a global one in a process of
//! its own cannot miss a line.

use api::config::settings::MailSettings;
use api::jobs::outbox::{self, OutboxHandle};
use api::mail::Mailer;
use persistence::outbox::{NewEmail, REDACTED_BODY};
use persistence::{Database, DatabaseSettings};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Everything logged in this process, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings(dir: &Path, smtp_url: Option<&str>) -> MailSettings {
    MailSettings {
        smtp_url: smtp_url.map(|url| secrecy::SecretString::from(url.to_owned())),
        dir: dir.to_owned(),
        from: "Attiva <noreply@attiva.local>"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        outbox_poll: Duration::from_millis(500),
    }
}

/// Delivers (to files) and fails (SMTP on a closed port) one e-mail
/// holding a password, capturing the logs: they name the e-mail but
/// never its subject line or body.
#[tokio::test(flavor = "current_thread")]
async fn the_worker_never_logs_the_body_or_the_subject() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap_or_else(|e| panic!("{e}"));

    let scratch = Scratch(std::env::temp_dir().join(format!("attiva-outbox-{}", Uuid::new_v4())));
    std::fs::create_dir_all(&scratch.0).unwrap_or_else(|e| panic!("{e}"));
    let db = Database::connect(&DatabaseSettings {
        url: format!("sqlite://{}/outbox.db?mode=rwc", scratch.0.display()),
        max_connections: 2,
        busy_timeout: Duration::from_secs(5),
        read_connections: 0,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    db.migrate().await.unwrap_or_else(|e| panic!("{e}"));

    let secret = "Pw-Segretissima-77";
    let queue = |recipient: &str| NewEmail {
        id: Uuid::new_v4(),
        kind: "activation".into(),
        recipient: recipient.into(),
        subject: format!("Oggetto riservato {secret}"),
        body_text: format!("Password temporanea: {secret}\n"),
        order_id: None,
    };
    let (_stop, stopped) = watch::channel(false);

    let delivered = queue("mario@example.it");
    db.outbox()
        .enqueue_email_now(&delivered)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mail_dir = scratch.0.join("mail");
    let mailer =
        Mailer::from_settings(&settings(&mail_dir, None)).unwrap_or_else(|e| panic!("{e}"));
    let worker = outbox::worker(
        db.clone(),
        mailer,
        Duration::from_secs(1),
        OutboxHandle::new(),
    );
    assert_eq!(
        worker
            .run_once(&stopped)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
    let stored = db
        .outbox()
        .find_email(delivered.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("stored"));
    assert!(stored.sent_at.is_some());
    assert_eq!(stored.body_text, REDACTED_BODY);
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1);

    let failed = queue("luigi@example.org");
    db.outbox()
        .enqueue_email_now(&failed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("smtp://user:{secret}@127.0.0.1:{}", closed.port());
    let mailer =
        Mailer::from_settings(&settings(&mail_dir, Some(&url))).unwrap_or_else(|e| panic!("{e}"));
    let worker = outbox::worker(
        db.clone(),
        mailer,
        Duration::from_secs(1),
        OutboxHandle::new(),
    );
    assert_eq!(
        worker
            .run_once(&stopped)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
    let stored = db
        .outbox()
        .find_email(failed.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("stored"));
    assert_eq!(stored.attempts, 1);
    assert!(stored.sent_at.is_none() && stored.last_error.is_some());
    db.close().await;

    let logs = captured.text();
    assert!(logs.contains(&delivered.id.to_string()), "{logs}");
    assert!(
        logs.contains("email sent") && logs.contains("example.it"),
        "{logs}"
    );
    assert!(
        logs.contains("email delivery failed") && logs.contains("example.org"),
        "{logs}"
    );
    assert!(!logs.contains(secret), "a secret was logged:\n{logs}");
    assert!(
        !logs.contains("mario@") && !logs.contains("luigi@"),
        "{logs}"
    );
}
