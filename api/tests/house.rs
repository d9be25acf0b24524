//! The house rule of `api/src/`: an area never imports another area's
//! handlers. What areas share lives in an area's `dto.rs` or use-case
//! modules, or in `shared/`; only an area's own `mod.rs` names its `routes`.

use std::fs;
use std::path::{Path, PathBuf};

const AREAS: [&str; 10] = [
    "backoffice",
    "carts",
    "catalog",
    "customers",
    "health",
    "orders",
    "panel",
    "payments",
    "services",
    "setup",
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("api/src is readable: {e}")) {
        let path = entry
            .unwrap_or_else(|e| panic!("a directory entry: {e}"))
            .path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_area_imports_another_areas_routes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offences = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap_or_else(|e| panic!("under src: {e}"));
        let text =
            fs::read_to_string(file).unwrap_or_else(|e| panic!("a readable source file: {e}"));
        for area in AREAS {
            let own_mod = relative == Path::new(area).join("mod.rs");
            let routes = format!("{area}::routes");
            if !own_mod && text.contains(&routes) {
                offences.push(format!("{} names {routes}", relative.display()));
            }
        }
    }
    assert!(offences.is_empty(), "areas import handlers: {offences:#?}");
}

#[test]
fn every_area_has_its_folder_and_registers_itself() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let app = fs::read_to_string(src.join("app.rs")).unwrap_or_else(|e| panic!("app.rs: {e}"));
    for area in AREAS {
        let module = fs::read_to_string(src.join(area).join("mod.rs"))
            .unwrap_or_else(|e| panic!("{area}/mod.rs: {e}"));
        assert!(
            module.contains("pub fn configure(config: &mut ServiceConfig)"),
            "{area}/mod.rs registers its operations in `configure`"
        );
        assert!(
            app.contains(&format!(".configure({area}::configure)")),
            "app.rs registers {area} with one line"
        );
    }
}
