//! Every setting is an environment variable with a default good for a
//! laptop; [`Settings::VARIABLES`] is the list the README and the
//! docker-compose test check against.

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
    pub catalog_path: PathBuf,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
}

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
            default: "16",
            meaning: "size of the database connection pool",
        },
        Variable {
            name: "ATTIVA_DB_BUSY_TIMEOUT_MS",
            default: "5000",
            meaning: "SQLite: how long a writer waits for the write lock",
        },
        Variable {
            name: "ATTIVA_CATALOG",
            default: "catalog/catalog.toml",
            meaning: "the product catalog file, validated at start",
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
        let (max_connections, _) = get("ATTIVA_DB_MAX_CONNECTIONS");
        let database_max_connections: u32 = number("ATTIVA_DB_MAX_CONNECTIONS", &max_connections)?;
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
        let (catalog, _) = get("ATTIVA_CATALOG");
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
        Ok(Settings {
            environment,
            bind,
            database_url: SecretString::from(database_url),
            database_max_connections,
            database_busy_timeout,
            catalog_path: PathBuf::from(catalog),
            workers,
            max_body_bytes,
            shutdown_timeout,
            log_format,
            log_filter,
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
    fn defaults_are_the_embedded_laptop_setup() {
        let settings = with(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.max_body_bytes, 65536);
        assert_eq!(settings.log_format, LogFormat::Text);
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
}
