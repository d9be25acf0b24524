//! The documents stay true: the README lists every setting the server reads
//! with its default, and the domain imports none of our crates nor any web
//! or database crate (docs/architecture.md).

use api::config::settings::Settings;
use tests::repo_root;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn settings_are_all_in_the_readme() {
    let readme = read("README.md");
    for variable in Settings::VARIABLES {
        let row = format!("| `{}` |", variable.name);
        let line = readme
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("README.md has no settings row for {}", variable.name));
        assert!(
            line.contains(variable.default),
            "README.md shows the wrong default for {}: {line}",
            variable.name
        );
    }
}

#[test]
fn the_readme_starts_with_the_two_commands() {
    let readme = read("README.md");
    let start = readme.find("cargo run --release").unwrap_or(usize::MAX);
    let tests = readme.find("./test.sh").unwrap_or(usize::MAX);
    assert!(
        start < 1200 && tests < 1200,
        "the two commands must be near the top of README.md"
    );
    let ci = read(".ci/run");
    assert!(
        ci.contains("./test.sh"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn the_domain_depends_on_no_web_or_database_crate() {
    let manifest: toml::Value = toml::from_str(&read("domain/Cargo.toml"))
        .unwrap_or_else(|e| panic!("domain/Cargo.toml: {e}"));
    let forbidden = [
        "actix-web",
        "sea-orm",
        "sea-orm-migration",
        "sqlx",
        "serde_json",
        "reqwest",
        "utoipa",
        "persistence",
        "migrations",
        "api",
        "tokio",
    ];
    for table in ["dependencies", "dev-dependencies"] {
        let names: Vec<String> = manifest
            .get(table)
            .and_then(|t| t.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            assert!(
                !forbidden.contains(&name.as_str()),
                "domain/{table} must not use {name}"
            );
        }
    }
}
