//! The server under test and a client for it.

use actix_web::dev::ServerHandle;
use api::Application;
use api::config::settings::Settings;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Once;
use testkit::{Backend, FreshDatabase};
use tokio::task::JoinHandle;

/// The repository root (catalog, fixtures, docker-compose.yml).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            api::config::telemetry::init(api::config::settings::LogFormat::Text, "info");
        }
    });
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
    /// The database this server runs on; the test kit made it and drops it.
    pub database: FreshDatabase,
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
    /// Starts a server on the scenario's database (migrating it), with
    /// these settings besides the test defaults. A scenario may start
    /// several, in turn or at once, as servers sharing one database.
    pub async fn start(database: &FreshDatabase, extra: &[(&str, &str)]) -> TestApp {
        let backend = database.backend;
        let database = database.clone();
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
    /// `api::backoffice::operators::create`).
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
            read_connections: 0,
        })
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"))
    }

    /// Stops the server gracefully (its database stays, for another
    /// server; the test kit drops it when the scenario ends).
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        let _ = (&mut self.task).await;
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

/// Runs one scenario on SQLite and on PostgreSQL, each with a server of its
/// own on a fresh database: `both_databases!(name, |app| async move { ... })`
/// (or `both_databases!(name, [("ATTIVA_…", "…")], |app| …)` for settings)
/// expands to an async fn `name` and, through the test kit's one mechanism
/// (`testkit::both_databases!`), the tests `name::sqlite` and
/// `name::postgres`. The database is dropped even when the scenario panics.
#[macro_export]
macro_rules! both_databases {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::both_databases!($name, [], |$app| $body);
    };
    ($name:ident, [$(($key:expr, $value:expr)),* $(,)?], |$app:ident| $body:expr) => {
        async fn $name(database: $crate::FreshDatabase) {
            async fn scenario($app: &$crate::TestApp) {
                $body.await
            }
            let app = $crate::TestApp::start(&database, &[$(($key, $value)),*]).await;
            scenario(&app).await;
            app.stop().await;
        }

        $crate::testkit::both_databases!($name);
    };
}
