//! The end-to-end harness (zero2prod's `spawn_app`): the real server on a
//! random port, against a fresh database — a new SQLite file, or a new
//! PostgreSQL database named by a UUID — with a client and helpers.
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`). When it cannot be reached the
//! PostgreSQL half of each test is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure (CI).

use actix_web::dev::ServerHandle;
use api::Application;
use api::settings::Settings;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Once;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The repository root (catalog, fixtures, docker-compose.yml).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn postgres_base() -> String {
    std::env::var("ATTIVA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn postgres_required() -> bool {
    std::env::var("ATTIVA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            api::telemetry::init(api::settings::LogFormat::Text, "info");
        }
    });
}

/// A database made for one test.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database, or `None` when PostgreSQL is unreachable and not
    /// required (the caller reports the skip).
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                let url = format!("sqlite://{}/attiva.db?mode=rwc", dir.path().display());
                Some(TestDatabase {
                    url,
                    postgres_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
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
                let name = format!("attiva_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
                let _ = admin.close().await;
                Some(TestDatabase {
                    url: format!("{}/{name}", postgres_base()),
                    postgres_name: Some(name),
                    _dir: None,
                })
            }
        }
    }

    /// A handle on a database that another [`TestDatabase`] owns (say, a
    /// second server on the first one's database): dropping the handle and
    /// [`TestDatabase::drop_database`] leave the database alone. The owner
    /// must outlive it.
    pub fn borrowed(url: &str) -> TestDatabase {
        TestDatabase {
            url: url.to_owned(),
            postgres_name: None,
            _dir: None,
        }
    }

    /// Drops a PostgreSQL test database (SQLite files go with their folder).
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

/// Settings for a test server: a random port, one worker, the given database.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let catalog = repo_root()
        .join("catalog/catalog.toml")
        .display()
        .to_string();
    let mut pairs: Vec<(String, String)> = vec![
        ("ATTIVA_BIND".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), database_url.into()),
        ("ATTIVA_CATALOG".into(), catalog),
        ("ATTIVA_WORKERS".into(), "2".into()),
        ("ATTIVA_SHUTDOWN_TIMEOUT_SECS".into(), "1".into()),
    ];
    // SQLite runs on its default pool (one connection), as deployed;
    // PostgreSQL on a small one, as every test has its own database.
    if !database_url.starts_with("sqlite:") {
        pairs.push(("ATTIVA_DB_MAX_CONNECTIONS".into(), "5".into()));
    }
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        pairs.push(((*k).into(), (*v).into()));
    }
    Settings::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap_or_else(|e| panic!("test settings: {e}"))
}

/// A running server and a client for it.
pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: Client,
    pub database: TestDatabase,
    /// Where the server writes its e-mails (`ATTIVA_MAIL_DIR`): a fresh
    /// folder per server unless the test sets one.
    pub mail_dir: PathBuf,
    _mail: Option<tempfile::TempDir>,
    extra: Vec<(String, String)>,
    handle: ServerHandle,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A response read whole: status, headers, and the body as JSON (or
/// `Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    async fn read(response: Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json with this status and code; returns the body.
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem document: {}",
            self.text
        );
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        &self.body
    }
}

impl TestApp {
    /// Starts the server on a fresh database; `None` when the backend is
    /// unavailable and not required.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        let database = TestDatabase::create(backend).await?;
        Some(Self::start(backend, database, extra).await)
    }

    /// Another server on an existing database (another app's
    /// `database.url`), as a second process sharing it would be; its
    /// [`TestApp::stop`] leaves the database to its owner, which must be
    /// stopped last.
    pub async fn spawn_on(backend: Backend, database_url: &str, extra: &[(&str, &str)]) -> TestApp {
        Self::start(backend, TestDatabase::borrowed(database_url), extra).await
    }

    async fn start(backend: Backend, database: TestDatabase, extra: &[(&str, &str)]) -> TestApp {
        init_logs();
        let mut extra: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // E-mails go to a folder of this server's, not to ./data/mail.
        let mail = match extra.iter().find(|(k, _)| k == "ATTIVA_MAIL_DIR") {
            Some(_) => None,
            None => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                extra.push(("ATTIVA_MAIL_DIR".into(), dir.path().display().to_string()));
                Some(dir)
            }
        };
        let mail_dir = extra
            .iter()
            .find(|(k, _)| k == "ATTIVA_MAIL_DIR")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_default();
        let pairs: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let settings = test_settings(&database.url, &pairs);
        let application = Application::build(&settings)
            .await
            .unwrap_or_else(|e| panic!("starting the server: {e:#}"));
        let address = format!("http://{}", application.address());
        let handle = application.handle();
        let task = tokio::spawn(application.run_until_stopped());
        TestApp {
            backend,
            address,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| panic!("client: {e}")),
            database,
            mail_dir,
            _mail: mail,
            extra,
            handle,
            task,
        }
    }

    /// The settings this server runs with (for CLI-level operations such as
    /// `api::operators::create`).
    pub fn settings(&self) -> Settings {
        let extra: Vec<(&str, &str)> = self
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        test_settings(&self.database.url, &extra)
    }

    /// A second connection pool to the server's database, for arranging
    /// what no API creates (say so in the test) and for checking storage.
    pub async fn store(&self) -> persistence::Database {
        persistence::Database::connect(&persistence::DatabaseSettings {
            url: self.database.url.clone(),
            max_connections: 2,
            busy_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"))
    }

    /// Stops the server gracefully and drops its database.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        let _ = (&mut self.task).await;
        self.database.drop_database().await;
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        Reply::read(response).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `POST /v1/carts`; returns (id, token).
    pub async fn create_cart(&self, channel: &str) -> (String, String) {
        let reply = self
            .post_json("/v1/carts", &json!({"channel": channel}))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
        let token = reply.body["token"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty() && !token.is_empty(), "{}", reply.text);
        (id, token)
    }

    /// `POST /v1/carts/{id}/items` with the cart token.
    pub async fn add_item(&self, cart: &(String, String), item: &Value) -> Reply {
        self.send(
            self.request(Method::POST, &format!("/v1/carts/{}/items", cart.0))
                .header("x-cart-token", &cart.1)
                .json(item),
        )
        .await
    }

    /// `GET /v1/carts/{id}` with the cart token.
    pub async fn get_cart(&self, cart: &(String, String)) -> Reply {
        self.send(
            self.request(Method::GET, &format!("/v1/carts/{}", cart.0))
                .header("x-cart-token", &cart.1),
        )
        .await
    }
}

/// Runs one scenario on SQLite and on PostgreSQL: `both_databases!(name, |app| async move { ... })`
/// expands to a module with two tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_databases {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::both_databases!($name, [], |$app| $body);
    };
    ($name:ident, [$(($key:expr, $value:expr)),* $(,)?], |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($app: &$crate::TestApp) {
                $body.await
            }

            async fn run(backend: $crate::Backend) {
                let Some(app) = $crate::TestApp::spawn_with(backend, &[$(($key, $value)),*]).await else {
                    return;
                };
                scenario(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::Backend::Postgres).await;
            }
        }
    };
}

// ---- e-mails the server wrote (the file transport) ---------------------------

/// An `.eml` file the server wrote, parsed enough for assertions.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file_name: String,
    /// The outbox id (the file name ends with it).
    pub email_id: Option<uuid::Uuid>,
    /// Unfolded header lines, in order, as written.
    pub headers: Vec<(String, String)>,
    /// The body, quoted-printable decoded, with `\n` line ends.
    pub body: String,
}

impl Mail {
    /// Parses an RFC 5322 message with a quoted-printable (or 7bit) body.
    pub fn parse(file_name: &str, raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        let quoted = headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("Content-Transfer-Encoding")
                && value.eq_ignore_ascii_case("quoted-printable")
        });
        let body = if quoted {
            String::from_utf8_lossy(&quoted_printable_decode(body)).into_owned()
        } else {
            body.to_owned()
        };
        let email_id = file_name
            .strip_suffix(".eml")
            .and_then(|stem| stem.get(stem.len().saturating_sub(36)..))
            .and_then(|id| uuid::Uuid::parse_str(id).ok());
        Mail {
            file_name: file_name.to_owned(),
            email_id,
            headers,
            body,
        }
    }

    /// A header's value (name case-insensitive), still encoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The subject with RFC 2047 encoded-words decoded.
    pub fn subject(&self) -> String {
        decode_encoded_words(self.header("Subject").unwrap_or_default())
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Quoted-printable (RFC 2045): `=XX` bytes and `=` soft line breaks.
fn quoted_printable_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let pair = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            );
            if let (Some(high), Some(low)) = pair {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or_default());
        }
    }
    out
}

/// RFC 2047: `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words decoded; the space
/// between two encoded words is dropped, as the RFC says.
fn decode_encoded_words(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut previous_encoded = false;
    for (n, word) in value.split_whitespace().enumerate() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let _charset = parts.next()?;
                let encoding = parts.next()?;
                let text = parts.next()?;
                match encoding {
                    "b" | "B" => Some(base64_decode(text)),
                    "q" | "Q" => Some(quoted_printable_decode(&text.replace('_', " "))),
                    _ => None,
                }
            });
        match decoded {
            Some(bytes) => {
                if n > 0 && !previous_encoded {
                    out.push(b' ');
                }
                out.extend(bytes);
                previous_encoded = true;
            }
            None => {
                if n > 0 {
                    out.push(b' ');
                }
                out.extend(word.as_bytes());
                previous_encoded = false;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `.eml` in `dir` (hidden temporary files left out), by file name
/// (that is, by time of sending).
pub fn read_mails(dir: &std::path::Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml") && !name.starts_with('.'))
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|name| {
            let raw = std::fs::read_to_string(dir.join(name)).ok()?;
            Some(Mail::parse(name, &raw))
        })
        .collect()
}

impl TestApp {
    /// The e-mails this server wrote so far.
    pub fn mails(&self) -> Vec<Mail> {
        read_mails(&self.mail_dir)
    }

    /// Waits, up to 15 s, for an e-mail to `recipient` to be written.
    pub async fn wait_for_mail(&self, recipient: &str) -> Mail {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found = self
                .mails()
                .into_iter()
                .find(|mail| mail.header("To").is_some_and(|to| to.contains(recipient)));
            if let Some(mail) = found {
                return mail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no e-mail to {recipient} in {} within 15 s",
                self.mail_dir.display()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}
