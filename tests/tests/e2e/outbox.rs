//! The e-mail outbox end to end: what is queued in the database is
//! delivered by the server's worker — as an `.eml` file, or over SMTP —
//! exactly once, across restarts, a worker that died holding a lease, and
//! two servers sharing one database; a relay that does not answer leaves
//! the e-mail pending, never lost.
//!
//! E-mails are queued straight into the database (`db.outbox().enqueue_email_now`,
//! the outbox call that fulfilment makes inside its payment transaction), as
//! no endpoint queues an arbitrary e-mail.

use persistence::outbox::{NewEmail, OutboxEmail, REDACTED_BODY};
use persistence::{Database, DatabaseSettings};
use sea_orm::prelude::ChronoUtc;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tests::{FreshDatabase, Mail, TestApp, read_mails};
use uuid::Uuid;

// Each scenario is given a fresh database, which the test kit drops at
// the end, and starts its servers on it.
tests::testkit::both_databases!(
    a_queued_email_is_written_as_an_eml_file,
    a_restarted_server_delivers_what_was_left_exactly_once,
    two_servers_deliver_each_email_exactly_once,
    an_unreachable_relay_leaves_the_email_pending,
    smtp_delivers_to_the_relay,
);

// --- fixtures ---

const SUBJECT: &str = "Attivazione Fatturazione Elettronica – credenziali di accesso";
const PASSWORD: &str = "Tmp-Pàss-4821!";

fn email(recipient: &str) -> NewEmail {
    NewEmail {
        id: Uuid::new_v4(),
        kind: "activation".into(),
        recipient: recipient.into(),
        subject: SUBJECT.into(),
        body_text: format!(
            "Gentile Caffè Più S.r.l.,\n\nPassword temporanea: {PASSWORD}\n\
             Al primo accesso è obbligatorio modificare la password ricevuta.\n"
        ),
        order_id: Some(Uuid::new_v4()),
    }
}

fn recipient() -> String {
    format!("{}@example.it", Uuid::new_v4().simple())
}

async fn connect(url: &str) -> Database {
    Database::connect(&DatabaseSettings {
        url: url.to_owned(),
        max_connections: 2,
        busy_timeout: Duration::from_secs(10),
        read_connections: 0,
    })
    .await
    .unwrap_or_else(|e| panic!("connecting to the test database: {e}"))
}

async fn stored(store: &Database, id: Uuid) -> OutboxEmail {
    store
        .outbox()
        .find_email(id)
        .await
        .unwrap_or_else(|e| panic!("reading the outbox: {e}"))
        .unwrap_or_else(|| panic!("e-mail {id} is not in the outbox"))
}

async fn pending(store: &Database) -> u64 {
    store
        .outbox()
        .outbox_pending()
        .await
        .unwrap_or_else(|e| panic!("counting the outbox: {e}"))
}

/// Polls `check` until it returns something, failing after `seconds`.
async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The e-mails in `dir`, counted by outbox id.
fn files_by_id(dir: &Path) -> BTreeMap<Uuid, usize> {
    let mut counts = BTreeMap::new();
    for mail in read_mails(dir) {
        let id = mail
            .email_id
            .unwrap_or_else(|| panic!("{} names no e-mail id", mail.file_name));
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

fn dir_text(dir: &Path) -> String {
    dir.display().to_string()
}

fn assert_is_the_email(mail: &Mail, sent: &NewEmail) {
    assert!(
        mail.file_name.ends_with(&format!("-{}.eml", sent.id)),
        "{}",
        mail.file_name
    );
    assert_eq!(mail.email_id, Some(sent.id));
    assert_eq!(mail.header("From"), Some("Attiva <noreply@attiva.local>"));
    assert_eq!(mail.header("To"), Some(sent.recipient.as_str()));
    assert_eq!(mail.subject(), SUBJECT, "UTF-8 subject: {:?}", mail.headers);
    let message_id = format!("<{}@attiva.local>", sent.id);
    assert_eq!(mail.header("Message-ID"), Some(message_id.as_str()));
    assert_eq!(
        mail.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
    assert!(mail.header("Date").is_some(), "{:?}", mail.headers);
    // The message ends with a line break of its own.
    assert_eq!(
        mail.body.trim_end(),
        sent.body_text.trim_end(),
        "the body, accents and all"
    );
}

// --- scenarios ---

async fn a_queued_email_is_written_as_an_eml_file(database: FreshDatabase) {
    let app = TestApp::start(&database, &[]).await;
    let store = app.store().await;
    let sent = email(&recipient());
    store
        .outbox()
        .enqueue_email_now(&sent)
        .await
        .unwrap_or_else(|e| panic!("queuing: {e}"));

    let mail = app.wait_for_mail(&sent.recipient).await;
    assert_is_the_email(&mail, &sent);

    let row = eventually(10, "the e-mail to be marked sent", || async {
        let row = stored(&store, sent.id).await;
        row.sent_at.is_some().then_some(row)
    })
    .await;
    assert_eq!(row.body_text, REDACTED_BODY, "no password left behind");
    assert_eq!(row.subject, SUBJECT);
    assert_eq!(row.attempts, 0);
    assert!(row.claimed_until.is_none());
    assert!(row.claimed_by.is_some_and(|w| w.starts_with("outbox-")));
    assert_eq!(pending(&store).await, 0);
    assert_eq!(files_by_id(&app.mail_dir).len(), 1);
    store.close().await;
    app.stop().await;
}

async fn a_restarted_server_delivers_what_was_left_exactly_once(database: FreshDatabase) {
    let mail_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mail_dir_text = dir_text(mail_dir.path());
    let extra = [("ATTIVA_MAIL_DIR", mail_dir_text.as_str())];

    // A first server migrates the database, then stops.
    let first = TestApp::start(&database, &extra).await;
    first.stop().await;

    // While no server runs: one e-mail queued, one claimed by a worker that
    // then died (its lease runs out at once).
    let store = connect(&database.url).await;
    let waiting = email(&recipient());
    let orphaned = email(&recipient());
    for new in [&waiting, &orphaned] {
        store
            .outbox()
            .enqueue_email_now(new)
            .await
            .unwrap_or_else(|e| panic!("queuing: {e}"));
    }
    let claimed = store
        .outbox()
        .claim_emails(
            "dead-worker",
            10,
            Duration::from_millis(1),
            ChronoUtc::now(),
        )
        .await
        .unwrap_or_else(|e| panic!("claiming: {e}"));
    assert_eq!(claimed.len(), 2);
    store
        .outbox()
        .release_email(waiting.id, "dead-worker")
        .await
        .unwrap_or_else(|e| panic!("releasing: {e}"));
    assert!(read_mails(mail_dir.path()).is_empty());

    let second = TestApp::start(&database, &extra).await;
    eventually(15, "both e-mails to be sent", || async {
        (pending(&store).await == 0).then_some(())
    })
    .await;
    second.stop().await;

    let files = files_by_id(mail_dir.path());
    let expected: BTreeMap<Uuid, usize> = [(waiting.id, 1), (orphaned.id, 1)].into();
    assert_eq!(files, expected, "each e-mail once");
    let orphan = stored(&store, orphaned.id).await;
    assert!(orphan.sent_at.is_some());
    assert_ne!(orphan.claimed_by.as_deref(), Some("dead-worker"));
    assert_eq!(orphan.attempts, 0, "a lost lease is not a failed delivery");
    for mail in read_mails(mail_dir.path()) {
        let sent = if mail.email_id == Some(waiting.id) {
            &waiting
        } else {
            &orphaned
        };
        assert_is_the_email(&mail, sent);
    }
    store.close().await;
}

async fn two_servers_deliver_each_email_exactly_once(database: FreshDatabase) {
    const EMAILS: usize = 50;
    let mail_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mail_dir_text = dir_text(mail_dir.path());
    // Both poll often, so that they compete for the same e-mails.
    let extra = [
        ("ATTIVA_MAIL_DIR", mail_dir_text.as_str()),
        ("ATTIVA_OUTBOX_POLL_MS", "10"),
    ];
    let first = TestApp::start(&database, &extra).await;
    let second = TestApp::start(&database, &extra).await;

    let store = connect(&database.url).await;
    let to = recipient();
    let mut ids = BTreeSet::new();
    for _ in 0..EMAILS {
        let new = email(&to);
        store
            .outbox()
            .enqueue_email_now(&new)
            .await
            .unwrap_or_else(|e| panic!("queuing: {e}"));
        ids.insert(new.id);
    }
    eventually(60, "all e-mails to be sent", || async {
        (pending(&store).await == 0).then_some(())
    })
    .await;
    // Stopping waits for each worker's delivery in progress.
    second.stop().await;
    first.stop().await;

    let files = files_by_id(mail_dir.path());
    let twice: Vec<_> = files.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(files.keys().copied().collect::<BTreeSet<_>>(), ids);

    let rows = store
        .outbox()
        .emails_for(&to)
        .await
        .unwrap_or_else(|e| panic!("listing: {e}"));
    assert_eq!(rows.len(), EMAILS);
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        assert!(row.sent_at.is_some(), "{row:?}");
        assert_eq!(row.body_text, REDACTED_BODY);
        assert_eq!(row.attempts, 0, "{row:?}");
        *by_worker
            .entry(row.claimed_by.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    eprintln!(
        "{:?}: e-mails sent per worker: {by_worker:?}",
        database.backend
    );
    store.close().await;
}

async fn an_unreachable_relay_leaves_the_email_pending(database: FreshDatabase) {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("finding a free port: {e}"));
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::start(&database, &[("SMTP_URL", url.as_str())]).await;
    let store = app.store().await;
    let sent = email(&recipient());
    store
        .outbox()
        .enqueue_email_now(&sent)
        .await
        .unwrap_or_else(|e| panic!("queuing: {e}"));

    let row = eventually(15, "a failed delivery to be recorded", || async {
        let row = stored(&store, sent.id).await;
        (row.attempts > 0).then_some(row)
    })
    .await;
    assert_eq!(row.attempts, 1, "retried later, not at once: {row:?}");
    assert!(row.sent_at.is_none());
    let error = row.last_error.clone().unwrap_or_default();
    assert!(!error.is_empty(), "{row:?}");
    assert!(row.claimed_by.is_none() && row.claimed_until.is_none());
    assert!(row.next_attempt_at > row.created_at, "{row:?}");
    assert_eq!(row.body_text, sent.body_text, "kept for the retry");
    assert_eq!(pending(&store).await, 1);
    assert!(app.mails().is_empty());
    store.close().await;
    app.stop().await;
}

/// A one-connection-at-a-time SMTP server that accepts everything and
/// hands each message's DATA to the test.
fn fake_relay() -> (u16, mpsc::Receiver<String>) {
    let listener =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding the relay: {e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("relay address: {e}"));
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Ok(reader) = stream.try_clone() else {
                return;
            };
            let mut reader = BufReader::new(reader);
            let mut reply = |text: &str| stream.write_all(text.as_bytes()).is_ok();
            if !reply("220 relay.test ESMTP\r\n") {
                continue;
            }
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let command = line.trim_end().to_ascii_uppercase();
                let answer = if command.starts_with("EHLO") {
                    "250-relay.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                } else if command == "DATA" {
                    if !reply("354 end with .\r\n") {
                        break;
                    }
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                            break;
                        }
                        data.push_str(&line);
                    }
                    let _ = sender.send(data);
                    "250 queued\r\n"
                } else if command == "QUIT" {
                    let _ = reply("221 bye\r\n");
                    break;
                } else {
                    "250 ok\r\n"
                };
                if !reply(answer) {
                    break;
                }
            }
        }
    });
    (port, received)
}

async fn smtp_delivers_to_the_relay(database: FreshDatabase) {
    let (port, received) = fake_relay();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::start(&database, &[("SMTP_URL", url.as_str())]).await;
    let store = app.store().await;
    let sent = email(&recipient());
    store
        .outbox()
        .enqueue_email_now(&sent)
        .await
        .unwrap_or_else(|e| panic!("queuing: {e}"));

    let data = eventually(15, "the relay to receive the message", || async {
        received.try_recv().ok()
    })
    .await;
    let mail = Mail::parse(&format!("relay-{}.eml", sent.id), &data);
    assert_is_the_email(&mail, &sent);
    eventually(10, "the e-mail to be marked sent", || async {
        (pending(&store).await == 0).then_some(())
    })
    .await;
    assert_eq!(stored(&store, sent.id).await.body_text, REDACTED_BODY);
    assert!(app.mails().is_empty(), "no file when SMTP is set");
    store.close().await;
    app.stop().await;
}
