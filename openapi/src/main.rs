//! Regenerates `openapi/openapi.json` from the code: `cargo run -p openapi`.
//! `cargo run -p openapi -- --check` fails when the committed file is stale.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = api::openapi_json();
    if std::env::args().any(|a| a == "--check") {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            return ExitCode::SUCCESS;
        }
        eprintln!("{} is stale: run `cargo run -p openapi`", path.display());
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, generated) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("writing {}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}
