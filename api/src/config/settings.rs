//! Every setting is an environment variable with a default good for a
//! laptop; [`Settings::VARIABLES`] is the list the README and the
//! docker-compose test check against.

use crate::auth::proxies::TrustedProxies;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One environment variable the server reads.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub database_busy_timeout: Duration,
    /// SQLite: the read-only pool beside the writer (0: none).
    pub database_read_connections: u32,
    /// A catalog file that replaces the one built into the binary.
    pub catalog_path: Option<PathBuf>,
    pub workers: usize,
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, from the end of its
    /// headers; a slower one is answered 408 and its connection closed.
    pub body_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub orders: OrderSettings,
    pub imports: ImportSettings,
}

/// Invoice imports (`POST /v1/panel/invoices/import`): the limits of a zip
/// (one invoice file is limited by the SdI's 5 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSettings {
    /// The largest zip accepted, as sent.
    pub max_zip_bytes: u64,
    /// The most entries a zip may list.
    pub max_zip_entries: u64,
    /// The most a zip's entries may declare uncompressed, all together.
    pub max_uncompressed_bytes: u64,
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings {
            max_zip_bytes: 100 * 1024 * 1024,
            max_zip_entries: 20_000,
            max_uncompressed_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Orders, payments and fulfilment.
#[derive(Debug, Clone)]
pub struct OrderSettings {
    /// HMAC-SHA256 keys of the payment provider's webhook; more than one
    /// during a rotation.
    pub webhook_secrets: Vec<SecretString>,
    pub webhook_tolerance: Duration,
    pub expiry: Duration,
    /// How often unpaid orders are checked for expiry.
    pub expiry_sweep: Duration,
    pub bank_iban: String,
    pub bank_beneficiary: String,
    pub panel_url: String,
    pub codice_destinatario: String,
}

/// Tokens, passwords and login throttling.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// HS256 key of the access tokens (at least 32 bytes).
    pub jwt_secret: SecretString,
    pub jwt_issuer: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub temporary_password_ttl: Duration,
    /// Per account and client address.
    pub login_max_failures: u64,
    /// Per client address, over all accounts.
    pub login_max_failures_per_address: u64,
    /// Per account, over all client addresses.
    pub login_max_failures_per_account: u64,
    pub login_window: Duration,
    /// Peers allowed to name the client in `X-Forwarded-For`/`Forwarded`.
    pub trusted_proxies: TrustedProxies,
    /// At most this many argon2 hashes at once (each takes 19 MiB).
    pub max_concurrent_hashes: usize,
}

/// Outgoing mail and the outbox worker (`api::mail`, `api::jobs::outbox`).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP relay (`smtp://`, `smtps://`, maybe with credentials);
    /// `None`: e-mails are written as `.eml` files under `dir`.
    pub smtp_url: Option<SecretString>,
    pub dir: PathBuf,
    /// The `From:` of every e-mail.
    pub from: lettre::message::Mailbox,
    /// How often the outbox worker looks for due e-mails.
    pub outbox_poll: Duration,
}

/// Shortest accepted JWT secret, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("setting {name}={value:?} is invalid: {problem}")]
pub struct SettingsError {
    pub name: &'static str,
    pub value: String,
    pub problem: String,
}

/// The default database: an SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/attiva.db?mode=rwc";

impl Settings {
    pub const VARIABLES: &'static [Variable] = &[
        Variable {
            name: "ATTIVA_ENV",
            default: "development",
            meaning: "`development` or `production` (production refuses unsafe defaults)",
        },
        Variable {
            name: "ATTIVA_BIND",
            default: "127.0.0.1:8080",
            meaning: "address and port the HTTP server listens on",
        },
        Variable {
            name: "DATABASE_URL",
            default: DEFAULT_DATABASE_URL,
            meaning: "`sqlite://…` (embedded) or `postgres://user:pass@host:port/db`",
        },
        Variable {
            name: "ATTIVA_DB_MAX_CONNECTIONS",
            default: "16 (PostgreSQL), 1 (SQLite)",
            meaning: "size of the database connection pool; SQLite writes one at a time anyway, and one connection queues them fairly instead of in SQLite's busy-wait",
        },
        Variable {
            name: "ATTIVA_DB_BUSY_TIMEOUT_MS",
            default: "5000",
            meaning: "SQLite: how long a writer waits for the write lock",
        },
        Variable {
            name: "ATTIVA_DB_READ_CONNECTIONS",
            default: "4",
            meaning: "a read-only pool beside the writer's for sessions, lists and the reads a request makes before it writes, whose connections Attiva keeps between statements (on SQLite WAL lets them read beside the writer); 0: every read on the writer's pool",
        },
        Variable {
            name: "ATTIVA_CATALOG",
            default: "the shipped `catalog/catalog.toml`, built into the binary",
            meaning: "a product catalog file that replaces the built-in one, validated at start",
        },
        Variable {
            name: "ATTIVA_WORKERS",
            default: "number of CPUs",
            meaning: "HTTP worker threads",
        },
        Variable {
            name: "ATTIVA_MAX_BODY_BYTES",
            default: "65536",
            meaning: "largest accepted request body; larger ones get 413",
        },
        Variable {
            name: "ATTIVA_BODY_TIMEOUT_SECS",
            default: "10",
            meaning: "time a request body may take to arrive; a slower one gets 408 and its connection is closed",
        },
        Variable {
            name: "ATTIVA_SHUTDOWN_TIMEOUT_SECS",
            default: "30",
            meaning: "grace period for in-flight requests on SIGTERM",
        },
        Variable {
            name: "ATTIVA_LOG_FORMAT",
            default: "text",
            meaning: "`text` or `json` (one JSON object per line)",
        },
        Variable {
            name: "ATTIVA_JWT_SECRET",
            default: "random per process (development only)",
            meaning: "HS256 key of access tokens, at least 32 bytes; required in production",
        },
        Variable {
            name: "ATTIVA_JWT_ISSUER",
            default: "attiva",
            meaning: "`iss` of issued tokens",
        },
        Variable {
            name: "ATTIVA_ACCESS_TOKEN_TTL_SECS",
            default: "900",
            meaning: "lifetime of access tokens",
        },
        Variable {
            name: "ATTIVA_REFRESH_TOKEN_TTL_DAYS",
            default: "30",
            meaning: "lifetime of refresh tokens (rotated on every use)",
        },
        Variable {
            name: "ATTIVA_TEMP_PASSWORD_TTL_HOURS",
            default: "336",
            meaning: "validity of a panel temporary password (336 h = 14 days)",
        },
        Variable {
            name: "ATTIVA_LOGIN_MAX_FAILURES",
            default: "5",
            meaning: "failed logins per account from one client address before that address gets 429 for that account",
        },
        Variable {
            name: "ATTIVA_LOGIN_MAX_FAILURES_PER_ADDRESS",
            default: "100",
            meaning: "failed logins from one client address, over all accounts, before it gets 429 for every account (password spraying)",
        },
        Variable {
            name: "ATTIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
            default: "50",
            meaning: "failed logins for one account, over all client addresses, before it gets 429 from everywhere (distributed guessing)",
        },
        Variable {
            name: "ATTIVA_LOGIN_WINDOW_SECS",
            default: "900",
            meaning: "window in which failed logins are counted; each limit's window starts with its first counted attempt",
        },
        Variable {
            name: "ATTIVA_TRUSTED_PROXIES",
            default: "empty: none",
            meaning: "comma-separated CIDRs (or single addresses) of the reverse proxies in front; only when the TCP peer is one of them is the client address taken from `X-Forwarded-For` (or, without it, `Forwarded: for=`), as the right-most address that is not a trusted proxy; otherwise those headers are ignored",
        },
        Variable {
            name: "ATTIVA_MAX_CONCURRENT_HASHES",
            default: "number of CPUs",
            meaning: "argon2 hashes computed at once (19 MiB each)",
        },
        Variable {
            name: "ATTIVA_PAYMENT_WEBHOOK_SECRETS",
            default: "`dev-webhook-secret` (development only)",
            meaning: "comma-separated HMAC keys of the payment webhook (several during a rotation); required in production",
        },
        Variable {
            name: "ATTIVA_PAYMENT_WEBHOOK_TOLERANCE_SECS",
            default: "300",
            meaning: "accepted clock skew of a webhook signature's timestamp",
        },
        Variable {
            name: "ATTIVA_ORDER_EXPIRY_DAYS",
            default: "7",
            meaning: "days after which an unpaid order expires",
        },
        Variable {
            name: "ATTIVA_ORDER_EXPIRY_SWEEP_SECS",
            default: "60",
            meaning: "how often unpaid orders are checked for expiry",
        },
        Variable {
            name: "ATTIVA_BANK_IBAN",
            default: "IT60X0542811101000000123456",
            meaning: "IBAN shown in bank-transfer payment instructions",
        },
        Variable {
            name: "ATTIVA_BANK_BENEFICIARY",
            default: "Attiva S.r.l.",
            meaning: "beneficiary shown in payment instructions",
        },
        Variable {
            name: "ATTIVA_PANEL_URL",
            default: "http://127.0.0.1:8080/panel",
            meaning: "panel address written in the activation email",
        },
        Variable {
            name: "ATTIVA_CODICE_DESTINATARIO",
            default: "KRRH6B9",
            meaning: "the provider's 7-character code for receiving invoices, shown on services",
        },
        Variable {
            name: "ATTIVA_IMPORT_MAX_ZIP_BYTES",
            default: "104857600",
            meaning: "largest zip of invoices an import accepts (100 MiB); a larger one gets 413 `zip_too_large`",
        },
        Variable {
            name: "ATTIVA_IMPORT_MAX_ZIP_ENTRIES",
            default: "20000",
            meaning: "most entries a zip of invoices may list; more get 413 `zip_too_large`, before anything is inflated",
        },
        Variable {
            name: "ATTIVA_IMPORT_MAX_UNCOMPRESSED_BYTES",
            default: "1073741824",
            meaning: "most a zip's entries may declare uncompressed, all together (1 GiB); more get 413 `zip_too_large`, before anything is inflated",
        },
        Variable {
            name: "SMTP_URL",
            default: "empty: write .eml files",
            meaning: "SMTP relay, e.g. `smtp://mailpit:1025` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`",
        },
        Variable {
            name: "ATTIVA_MAIL_DIR",
            default: "data/mail",
            meaning: "without `SMTP_URL`: folder where each e-mail is written as an `.eml` file",
        },
        Variable {
            name: "ATTIVA_MAIL_FROM",
            default: "Attiva <noreply@attiva.local>",
            meaning: "`From:` of the e-mails sent",
        },
        Variable {
            name: "ATTIVA_OUTBOX_POLL_MS",
            default: "500",
            meaning: "how often the e-mail outbox worker looks for e-mails to send (it is also woken when one is queued)",
        },
        Variable {
            name: "RUST_LOG",
            default: "info",
            meaning: "log filter (tracing-subscriber EnvFilter syntax)",
        },
    ];

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &'static str| -> (String, bool) {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                Some(value) => (value, true),
                None => (
                    Self::VARIABLES
                        .iter()
                        .find(|v| v.name == name)
                        .map_or(String::new(), |v| v.default.to_owned()),
                    false,
                ),
            }
        };
        fn bad(name: &'static str, value: &str, problem: impl Into<String>) -> SettingsError {
            SettingsError {
                name,
                value: value.to_owned(),
                problem: problem.into(),
            }
        }
        fn number<T: std::str::FromStr>(
            name: &'static str,
            value: &str,
        ) -> Result<T, SettingsError> {
            value
                .trim()
                .parse()
                .map_err(|_| bad(name, value, "expected a whole number"))
        }

        let (env, _) = get("ATTIVA_ENV");
        let environment = match env.as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ => {
                return Err(bad(
                    "ATTIVA_ENV",
                    &env,
                    "expected `development` or `production`",
                ));
            }
        };
        let (bind, _) = get("ATTIVA_BIND");
        let bind = bind.parse().map_err(|_| {
            bad(
                "ATTIVA_BIND",
                &bind,
                "expected host:port, e.g. 127.0.0.1:8080",
            )
        })?;
        let (database_url, _) = get("DATABASE_URL");
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "DATABASE_URL",
                "(hidden)",
                "expected a sqlite:// or postgres:// URL",
            ));
        }
        let (max_connections, set) = get("ATTIVA_DB_MAX_CONNECTIONS");
        let database_max_connections: u32 = match (set, database_url.starts_with("sqlite:")) {
            (true, _) => number("ATTIVA_DB_MAX_CONNECTIONS", &max_connections)?,
            (false, true) => 1,
            (false, false) => 16,
        };
        if database_max_connections == 0 {
            return Err(bad(
                "ATTIVA_DB_MAX_CONNECTIONS",
                &max_connections,
                "must be at least 1",
            ));
        }
        let (busy, _) = get("ATTIVA_DB_BUSY_TIMEOUT_MS");
        let database_busy_timeout =
            Duration::from_millis(number("ATTIVA_DB_BUSY_TIMEOUT_MS", &busy)?);
        let (reads, set) = get("ATTIVA_DB_READ_CONNECTIONS");
        let database_read_connections: u32 = if set {
            number("ATTIVA_DB_READ_CONNECTIONS", &reads)?
        } else {
            4
        };
        let (catalog, catalog_set) = get("ATTIVA_CATALOG");
        let (workers_text, set) = get("ATTIVA_WORKERS");
        let workers = if set {
            let workers: usize = number("ATTIVA_WORKERS", &workers_text)?;
            if workers == 0 {
                return Err(bad("ATTIVA_WORKERS", &workers_text, "must be at least 1"));
            }
            workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        };
        let (body, _) = get("ATTIVA_MAX_BODY_BYTES");
        let max_body_bytes: usize = number("ATTIVA_MAX_BODY_BYTES", &body)?;
        if max_body_bytes < 1024 {
            return Err(bad("ATTIVA_MAX_BODY_BYTES", &body, "must be at least 1024"));
        }
        let (body_timeout, _) = get("ATTIVA_BODY_TIMEOUT_SECS");
        let body_timeout_secs: u64 = number("ATTIVA_BODY_TIMEOUT_SECS", &body_timeout)?;
        if body_timeout_secs == 0 {
            return Err(bad(
                "ATTIVA_BODY_TIMEOUT_SECS",
                &body_timeout,
                "must be at least 1",
            ));
        }
        let body_timeout = Duration::from_secs(body_timeout_secs);
        let (shutdown, _) = get("ATTIVA_SHUTDOWN_TIMEOUT_SECS");
        let shutdown_timeout =
            Duration::from_secs(number("ATTIVA_SHUTDOWN_TIMEOUT_SECS", &shutdown)?);
        let (format, _) = get("ATTIVA_LOG_FORMAT");
        let log_format = match format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(bad(
                    "ATTIVA_LOG_FORMAT",
                    &format,
                    "expected `text` or `json`",
                ));
            }
        };
        let (log_filter, _) = get("RUST_LOG");

        let (secret, secret_set) = get("ATTIVA_JWT_SECRET");
        let jwt_secret = if secret_set {
            if secret.len() < MIN_JWT_SECRET_BYTES {
                return Err(bad(
                    "ATTIVA_JWT_SECRET",
                    "(hidden)",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ));
            }
            secret
        } else if environment == Environment::Production {
            return Err(bad(
                "ATTIVA_JWT_SECRET",
                "",
                format!("required in production (at least {MIN_JWT_SECRET_BYTES} bytes)"),
            ));
        } else {
            // Development: a fresh key per process; tokens die with it.
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        };
        let (issuer, _) = get("ATTIVA_JWT_ISSUER");
        let secs = |name: &'static str, unit: u64| -> Result<Duration, SettingsError> {
            let (text, _) = get(name);
            let value: u64 = number(name, &text)?;
            if value == 0 {
                return Err(bad(name, &text, "must be at least 1"));
            }
            Ok(Duration::from_secs(value.saturating_mul(unit)))
        };
        let limit = |name: &'static str| -> Result<u64, SettingsError> {
            let (text, _) = get(name);
            let value: u64 = number(name, &text)?;
            if value == 0 {
                return Err(bad(name, &text, "must be at least 1"));
            }
            Ok(value)
        };
        let login_max_failures = limit("ATTIVA_LOGIN_MAX_FAILURES")?;
        let login_max_failures_per_address = limit("ATTIVA_LOGIN_MAX_FAILURES_PER_ADDRESS")?;
        let login_max_failures_per_account = limit("ATTIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT")?;
        let (proxies, proxies_set) = get("ATTIVA_TRUSTED_PROXIES");
        let trusted_proxies = if proxies_set {
            TrustedProxies::parse(&proxies)
                .map_err(|problem| bad("ATTIVA_TRUSTED_PROXIES", &proxies, problem))?
        } else {
            TrustedProxies::none()
        };
        let (hashes, hashes_set) = get("ATTIVA_MAX_CONCURRENT_HASHES");
        let max_concurrent_hashes = if hashes_set {
            let value: usize = number("ATTIVA_MAX_CONCURRENT_HASHES", &hashes)?;
            if value == 0 {
                return Err(bad(
                    "ATTIVA_MAX_CONCURRENT_HASHES",
                    &hashes,
                    "must be at least 1",
                ));
            }
            value
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        };
        let auth = AuthSettings {
            jwt_secret: SecretString::from(jwt_secret),
            jwt_issuer: issuer,
            access_token_ttl: secs("ATTIVA_ACCESS_TOKEN_TTL_SECS", 1)?,
            refresh_token_ttl: secs("ATTIVA_REFRESH_TOKEN_TTL_DAYS", 86_400)?,
            temporary_password_ttl: secs("ATTIVA_TEMP_PASSWORD_TTL_HOURS", 3_600)?,
            login_max_failures,
            login_max_failures_per_address,
            login_max_failures_per_account,
            login_window: secs("ATTIVA_LOGIN_WINDOW_SECS", 1)?,
            trusted_proxies,
            max_concurrent_hashes,
        };
        let (secrets, secrets_set) = get("ATTIVA_PAYMENT_WEBHOOK_SECRETS");
        let webhook_secrets: Vec<SecretString> = if secrets_set {
            let list: Vec<SecretString> = secrets
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect();
            if list.is_empty() {
                return Err(bad(
                    "ATTIVA_PAYMENT_WEBHOOK_SECRETS",
                    "(hidden)",
                    "at least one key",
                ));
            }
            list
        } else if environment == Environment::Production {
            return Err(bad(
                "ATTIVA_PAYMENT_WEBHOOK_SECRETS",
                "",
                "required in production",
            ));
        } else {
            vec![SecretString::from("dev-webhook-secret".to_owned())]
        };
        let (iban, _) = get("ATTIVA_BANK_IBAN");
        let (beneficiary, _) = get("ATTIVA_BANK_BENEFICIARY");
        let (panel_url, _) = get("ATTIVA_PANEL_URL");
        let (codice_destinatario, _) = get("ATTIVA_CODICE_DESTINATARIO");
        if codice_destinatario.len() != 7
            || !codice_destinatario
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err(bad(
                "ATTIVA_CODICE_DESTINATARIO",
                &codice_destinatario,
                "7 letters or digits",
            ));
        }
        let orders = OrderSettings {
            webhook_secrets,
            webhook_tolerance: secs("ATTIVA_PAYMENT_WEBHOOK_TOLERANCE_SECS", 1)?,
            expiry: secs("ATTIVA_ORDER_EXPIRY_DAYS", 86_400)?,
            expiry_sweep: secs("ATTIVA_ORDER_EXPIRY_SWEEP_SECS", 1)?,
            bank_iban: iban.replace(' ', "").to_ascii_uppercase(),
            bank_beneficiary: beneficiary,
            panel_url,
            codice_destinatario: codice_destinatario.to_ascii_uppercase(),
        };
        let imports = ImportSettings {
            max_zip_bytes: limit("ATTIVA_IMPORT_MAX_ZIP_BYTES")?,
            max_zip_entries: limit("ATTIVA_IMPORT_MAX_ZIP_ENTRIES")?,
            max_uncompressed_bytes: limit("ATTIVA_IMPORT_MAX_UNCOMPRESSED_BYTES")?,
        };
        // Mail (SMTP_URL is a secret: it may hold a password).
        let (smtp_url, smtp_set) = get("SMTP_URL");
        let smtp_url = if smtp_set {
            let url = smtp_url.trim();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(bad(
                    "SMTP_URL",
                    "(hidden)",
                    "expected an smtp:// or smtps:// URL",
                ));
            }
            Some(SecretString::from(url.to_owned()))
        } else {
            None
        };
        let (mail_dir, _) = get("ATTIVA_MAIL_DIR");
        let (from, _) = get("ATTIVA_MAIL_FROM");
        let from = from.trim().parse().map_err(|_| {
            bad(
                "ATTIVA_MAIL_FROM",
                &from,
                "expected an address, e.g. `Attiva <noreply@example.it>`",
            )
        })?;
        let (poll, _) = get("ATTIVA_OUTBOX_POLL_MS");
        let poll_ms: u64 = number("ATTIVA_OUTBOX_POLL_MS", &poll)?;
        if poll_ms == 0 {
            return Err(bad("ATTIVA_OUTBOX_POLL_MS", &poll, "must be at least 1"));
        }
        let mail = MailSettings {
            smtp_url,
            dir: PathBuf::from(mail_dir),
            from,
            outbox_poll: Duration::from_millis(poll_ms),
        };
        Ok(Settings {
            environment,
            bind,
            database_url: SecretString::from(database_url),
            database_max_connections,
            database_busy_timeout,
            database_read_connections,
            catalog_path: catalog_set.then(|| PathBuf::from(catalog)),
            workers,
            max_body_bytes,
            body_timeout,
            shutdown_timeout,
            log_format,
            log_filter,
            auth,
            mail,
            orders,
            imports,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn the_sqlite_read_pool_defaults_to_four_connections_and_can_be_turned_off() {
        let reads = |pairs: &[(&str, &str)]| {
            with(pairs)
                .unwrap_or_else(|e| panic!("{e}"))
                .database_read_connections
        };
        assert_eq!(reads(&[]), 4);
        assert_eq!(reads(&[("ATTIVA_DB_READ_CONNECTIONS", "0")]), 0);
        assert_eq!(reads(&[("ATTIVA_DB_READ_CONNECTIONS", "8")]), 8);
        assert!(with(&[("ATTIVA_DB_READ_CONNECTIONS", "many")]).is_err());
    }

    #[test]
    fn the_pool_defaults_to_one_connection_on_sqlite_and_sixteen_on_postgres() {
        let pool = |pairs: &[(&str, &str)]| {
            with(pairs)
                .unwrap_or_else(|e| panic!("{e}"))
                .database_max_connections
        };
        assert_eq!(pool(&[]), 1);
        assert_eq!(pool(&[("DATABASE_URL", "postgres://u@h/db")]), 16);
        assert_eq!(pool(&[("ATTIVA_DB_MAX_CONNECTIONS", "4")]), 4);
        assert_eq!(
            pool(&[
                ("DATABASE_URL", "postgres://u@h/db"),
                ("ATTIVA_DB_MAX_CONNECTIONS", "40")
            ]),
            40
        );
    }

    #[test]
    fn defaults_are_the_embedded_laptop_setup() {
        let settings = with(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.max_body_bytes, 65536);
        assert_eq!(settings.body_timeout, Duration::from_secs(10));
        assert_eq!(settings.log_format, LogFormat::Text);
        // The catalog built into the binary, wherever it is started from.
        assert_eq!(settings.catalog_path, None);
    }

    #[test]
    fn production_refuses_a_missing_or_short_jwt_secret() {
        let missing = with(&[("ATTIVA_ENV", "production")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            missing.as_deref(),
            Some(
                "setting ATTIVA_JWT_SECRET=\"\" is invalid: required in production (at least 32 bytes)"
            )
        );
        let short = with(&[("ATTIVA_ENV", "production"), ("ATTIVA_JWT_SECRET", "short")])
            .err()
            .map(|e| e.name);
        assert_eq!(short, Some("ATTIVA_JWT_SECRET"));
        let long = "k".repeat(32);
        let production = [
            ("ATTIVA_ENV", "production"),
            ("ATTIVA_JWT_SECRET", long.as_str()),
            ("ATTIVA_PAYMENT_WEBHOOK_SECRETS", "whsec_a,whsec_b"),
        ];
        assert!(with(&production).is_ok());
        let without_webhook = with(&production[..2]).err().map(|e| e.name);
        assert_eq!(without_webhook, Some("ATTIVA_PAYMENT_WEBHOOK_SECRETS"));
        // Development makes one up.
        assert!(with(&[]).is_ok_and(|s| s.auth.jwt_secret.expose_secret().len() >= 32));
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let error = with(&[("ATTIVA_BIND", "nowhere")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "setting ATTIVA_BIND=\"nowhere\" is invalid: expected host:port, e.g. 127.0.0.1:8080"
            )
        );
        let error = with(&[("DATABASE_URL", "mysql://x")]).err().map(|e| e.name);
        assert_eq!(error, Some("DATABASE_URL"));
    }

    #[test]
    fn login_limits_default_to_five_per_pair_fifty_per_account_and_a_hundred_per_address() {
        let settings = with(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.auth.login_max_failures, 5);
        assert_eq!(settings.auth.login_max_failures_per_account, 50);
        assert_eq!(settings.auth.login_max_failures_per_address, 100);
        assert_eq!(settings.auth.trusted_proxies, TrustedProxies::none());
        for name in [
            "ATTIVA_LOGIN_MAX_FAILURES",
            "ATTIVA_LOGIN_MAX_FAILURES_PER_ADDRESS",
            "ATTIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        ] {
            assert_eq!(with(&[(name, "0")]).err().map(|e| e.name), Some(name));
        }
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses_and_a_bad_one_names_the_setting() {
        let settings = with(&[(
            "ATTIVA_TRUSTED_PROXIES",
            "10.0.0.0/8, 192.0.2.7 ,fd00::/8,::1",
        )])
        .unwrap_or_else(|e| panic!("{e}"));
        let proxies = &settings.auth.trusted_proxies;
        for trusted in ["10.1.2.3", "192.0.2.7", "fd12::1", "::1"] {
            let ip = trusted.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(proxies.trusts(ip), "{trusted}");
        }
        for untrusted in ["11.0.0.1", "192.0.2.8", "fe80::1"] {
            let ip = untrusted.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(!proxies.trusts(ip), "{untrusted}");
        }
        for bad in ["10.0.0.0/33", "proxy.example.com", "10.0.0.1,,"] {
            let error = with(&[("ATTIVA_TRUSTED_PROXIES", bad)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.starts_with("setting ATTIVA_TRUSTED_PROXIES="),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn import_limits_default_to_100_mib_20000_entries_and_1_gib_and_refuse_zero() {
        let settings = with(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.imports, ImportSettings::default());
        assert_eq!(settings.imports.max_zip_bytes, 104_857_600);
        assert_eq!(settings.imports.max_zip_entries, 20_000);
        assert_eq!(settings.imports.max_uncompressed_bytes, 1_073_741_824);
        let low = with(&[("ATTIVA_IMPORT_MAX_UNCOMPRESSED_BYTES", "1000")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(low.imports.max_uncompressed_bytes, 1000);
        for name in [
            "ATTIVA_IMPORT_MAX_ZIP_BYTES",
            "ATTIVA_IMPORT_MAX_ZIP_ENTRIES",
            "ATTIVA_IMPORT_MAX_UNCOMPRESSED_BYTES",
        ] {
            assert_eq!(with(&[(name, "0")]).err().map(|e| e.name), Some(name));
            assert_eq!(with(&[(name, "many")]).err().map(|e| e.name), Some(name));
        }
    }

    #[test]
    fn mail_settings_default_to_eml_files_and_hide_the_smtp_url() {
        let settings = with(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(settings.mail.smtp_url.is_none());
        assert_eq!(settings.mail.dir, PathBuf::from("data/mail"));
        assert_eq!(
            settings.mail.from.to_string(),
            "Attiva <noreply@attiva.local>"
        );
        assert_eq!(settings.mail.outbox_poll, Duration::from_millis(500));

        let url = "smtps://user:s3cret@smtp.example.it:465";
        let settings = with(&[("SMTP_URL", url)]).unwrap_or_else(|e| panic!("{e}"));
        let smtp = settings.mail.smtp_url.as_ref().map(|u| u.expose_secret());
        assert_eq!(smtp, Some(url));
        assert!(!format!("{settings:?}").contains("s3cret"));

        let error = with(&[("SMTP_URL", "http://user:s3cret@x")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("setting SMTP_URL="), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        for (name, value) in [
            ("ATTIVA_MAIL_FROM", "not an address"),
            ("ATTIVA_OUTBOX_POLL_MS", "0"),
            ("ATTIVA_OUTBOX_POLL_MS", "soon"),
        ] {
            assert_eq!(with(&[(name, value)]).err().map(|e| e.name), Some(name));
        }
    }
}
