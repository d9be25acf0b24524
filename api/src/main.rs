//! `attiva`: the server.
//!
//! - `attiva` (or `attiva serve`): serve HTTP.
//! - `attiva openapi`: print the OpenAPI document.
//! - `attiva operator create <username>`: create a back-office operator;
//!   the password is read from `ATTIVA_OPERATOR_PASSWORD` or, when unset,
//!   from the first line of standard input.

/// mimalloc rather than the system's allocator: a request allocates and
/// frees many small values (rows, JSON), and glibc's arenas spent a fifth
/// of the server's CPU and took locks doing it (bench --bin contacts).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use api::config::telemetry;
use api::{Application, Settings};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("openapi") => {
            print!("{}", api::openapi_json());
            return ExitCode::SUCCESS;
        }
        Some("operator") => return operator_command().await,
        Some(other) => {
            eprintln!(
                "unknown command `{other}`; usage: attiva [serve|openapi|operator create <username>]"
            );
            return ExitCode::from(2);
        }
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("attiva: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format, &settings.log_filter);
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!("start-up failed: {error:#}");
            eprintln!("attiva: start-up failed: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match application.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("server failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn operator_command() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let [action, username] = args.as_slice() else {
        eprintln!("usage: attiva operator create <username>");
        return ExitCode::from(2);
    };
    if action != "create" {
        eprintln!("usage: attiva operator create <username>");
        return ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("attiva: {error}");
            return ExitCode::from(2);
        }
    };
    let password = match std::env::var("ATTIVA_OPERATOR_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                eprintln!("attiva: could not read the password from standard input");
                return ExitCode::FAILURE;
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    match api::backoffice::operators::create(&settings, username, &password).await {
        Ok(id) => {
            println!("operator {username} created ({id})");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("attiva: {error:#}");
            ExitCode::FAILURE
        }
    }
}
