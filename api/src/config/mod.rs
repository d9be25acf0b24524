//! How the server is set up: settings from the environment, telemetry,
//! the catalog file, and the read-only state derived from them.

pub mod catalog_file;
pub mod settings;
pub mod state;
pub mod telemetry;

pub use settings::Settings;
