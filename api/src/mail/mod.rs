//! Delivering one e-mail: over SMTP (`SMTP_URL`, with lettre), or, when no
//! relay is configured, as an RFC 5322 `.eml` file under `ATTIVA_MAIL_DIR`
//! (one file per e-mail, `<sent-at>-<email id>.eml`, written to a temporary
//! name and renamed, so a reader never sees half a message).
//!
//! Messages are text/plain, UTF-8, quoted-printable (any relay accepts it;
//! accents survive); non-ASCII subjects are RFC 2047 encoded. The
//! Message-ID is derived from the outbox id, so a message delivered twice
//! (at-least-once delivery) can be recognised as one.

pub mod emails;

use crate::config::settings::MailSettings;
use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// How long one SMTP command may take (connect, each reply).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One e-mail to deliver.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    /// The outbox id.
    pub id: Uuid,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
}

// The body may hold a temporary password.
impl std::fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid recipient address: {0}")]
    Recipient(#[source] lettre::address::AddressError),
    #[error("building the message: {0}")]
    Build(#[source] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("writing {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file writer stopped: {0}")]
    Task(String),
}

/// Where mail goes.
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `host:port`, without credentials, for logs.
        endpoint: String,
        from: Mailbox,
    },
    Files {
        dir: PathBuf,
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `smtp://user:pass@host:port/ehlo?tls=required` → `host:port`.
fn smtp_endpoint(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.to_owned()
}

impl Mailer {
    /// SMTP when `SMTP_URL` is set (`smtp://host:port` plain,
    /// `smtp://…?tls=required` STARTTLS, `smtps://` implicit TLS,
    /// `user:pass@` for authentication), otherwise `.eml` files.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Mailer> {
        let from = settings.from.clone();
        match &settings.smtp_url {
            Some(url) => {
                let url = url.expose_secret();
                // lettre's error names neither the URL nor its password.
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL is not a usable smtp:// or smtps:// URL")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Mailer::Smtp {
                    transport,
                    endpoint: smtp_endpoint(url),
                    from,
                })
            }
            None => Ok(Mailer::Files {
                dir: settings.dir.clone(),
                from,
            }),
        }
    }

    /// For logs: the transport and where it delivers (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { endpoint, .. } => format!("smtp {endpoint}"),
            Mailer::Files { dir, .. } => format!("eml files in {}", dir.display()),
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from,
        }
    }

    /// Delivers `email`, dated `at`.
    pub async fn send(&self, email: &Outgoing<'_>, at: DateTime<Utc>) -> Result<(), MailError> {
        let message = build_message(self.from(), email, at)?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await.map_err(MailError::Smtp)?;
                Ok(())
            }
            Mailer::Files { dir, .. } => {
                let name = file_name(email.id, at);
                write_atomically(dir.clone(), name, message.formatted()).await
            }
        }
    }
}

/// The RFC 5322 message of `email`.
pub fn build_message(
    from: &Mailbox,
    email: &Outgoing<'_>,
    at: DateTime<Utc>,
) -> Result<Message, MailError> {
    let to: Mailbox = email.recipient.parse().map_err(MailError::Recipient)?;
    let domain = from.email.domain();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject)
        .date(SystemTime::from(at))
        .message_id(Some(format!("<{}@{domain}>", email.id)))
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(email.body_text.to_owned()),
        )
        .map_err(MailError::Build)
}

/// `20260314T090512.123456Z-<id>.eml`: sorts by time, no `:` (portable).
pub fn file_name(id: Uuid, at: DateTime<Utc>) -> String {
    format!("{}-{id}.eml", at.format("%Y%m%dT%H%M%S%.6fZ"))
}

/// Writes `bytes` to `dir/name` through a hidden temporary file in the same
/// folder (synced, then renamed): the `.eml` appears whole or not at all.
/// The file is readable by its owner only: it may hold a password.
async fn write_atomically(dir: PathBuf, name: String, bytes: Vec<u8>) -> Result<(), MailError> {
    tokio::task::spawn_blocking(move || {
        let fail = |path: &Path| {
            let path = path.to_owned();
            move |source| MailError::File { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(fail(&dir))?;
        let target = dir.join(&name);
        let temporary = dir.join(format!(".{name}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = (|| {
            use std::io::Write;
            let mut file = options.open(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })();
        if let Err(error) = written.and_then(|()| std::fs::rename(&temporary, &target)) {
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(&target)(error));
        }
        Ok(())
    })
    .await
    .map_err(|error| MailError::Task(error.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "Attiva <noreply@attiva.local>"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_endpoint_hides_credentials() {
        assert_eq!(
            smtp_endpoint("smtps://user:p%40ss@smtp.example.com:465/ehlo?tls=x"),
            "smtp.example.com:465"
        );
        assert_eq!(smtp_endpoint("smtp://mailpit:1025"), "mailpit:1025");
    }

    #[test]
    fn a_message_is_utf8_quoted_printable_with_an_id_from_the_outbox() {
        let id = Uuid::new_v4();
        let at = DateTime::from_timestamp(1_773_478_800, 0).unwrap_or_default();
        let message = build_message(
            &from(),
            &Outgoing {
                id,
                recipient: "mario.rossi@example.it",
                subject: "Attivazione – credenziali",
                body_text: "Al primo accesso è obbligatorio modificare la password.\n",
            },
            at,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(message.formatted()).unwrap_or_default();
        assert!(
            text.contains("From: Attiva <noreply@attiva.local>\r\n"),
            "{text}"
        );
        assert!(text.contains("To: mario.rossi@example.it\r\n"), "{text}");
        assert!(
            text.contains(&format!("Message-ID: <{id}@attiva.local>\r\n")),
            "{text}"
        );
        assert!(
            text.contains("Date: Sat, 14 Mar 2026 09:00:00 +0000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Transfer-Encoding: quoted-printable\r\n"),
            "{text}"
        );
        assert!(text.contains("MIME-Version: 1.0\r\n"), "{text}");
        assert!(text.contains("=C3=A8 obbligatorio"), "{text}");
        assert!(!text.contains("Subject: Attivazione –"), "encoded: {text}");
    }

    #[test]
    fn a_bad_recipient_is_an_error() {
        let result = build_message(
            &from(),
            &Outgoing {
                id: Uuid::new_v4(),
                recipient: "not an address",
                subject: "x",
                body_text: "x",
            },
            Utc::now(),
        );
        assert!(matches!(result, Err(MailError::Recipient(_))));
    }

    #[test]
    fn file_names_sort_by_time_and_name_the_email() {
        let id = Uuid::nil();
        let at = DateTime::from_timestamp(1_773_478_800, 123_456_000).unwrap_or_default();
        assert_eq!(
            file_name(id, at),
            "20260314T090000.123456Z-00000000-0000-0000-0000-000000000000.eml"
        );
    }
}
