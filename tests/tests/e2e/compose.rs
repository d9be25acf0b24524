//! The container setup, checked on paper (no Docker engine needed):
//! `docker-compose.yml` and the `Dockerfile` against each other and against
//! the settings the server actually reads (`Settings::VARIABLES`,
//! `Settings::from_lookup`).
//!
//! Compose values may use `${NAME:-default}`: the check uses the default.
//! A value that needs the host's environment (`${NAME}`) fails the check,
//! since it cannot be seen here.

use api::config::settings::Settings;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The service whose environment is the server's.
const API: &str = "api";
/// The database service `DATABASE_URL` must point at.
const POSTGRES: &str = "postgres";
/// The port PostgreSQL listens on inside its container.
const POSTGRES_CONTAINER_PORT: u16 = 5432;
/// Images that are SMTP catchers.
const MAIL_CATCHERS: &[&str] = &[
    "mailpit",
    "mailhog",
    "maildev",
    "mailcatcher",
    "smtp4dev",
    "greenmail",
];

// ---- reading the files -------------------------------------------------------

fn read(name: &str) -> String {
    let path = tests::repo_root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn compose() -> Value {
    serde_saphyr::from_str(&read("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service `{name}` under `services:`"))
}

/// A YAML scalar as the text compose passes on (numbers and booleans as written).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Compose interpolation with the defaults: `$$` is a `$`, `${NAME:-x}` and
/// `${NAME-x}` are `x`; anything that needs the host's environment panics.
fn interpolate(context: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap_or_else(|| {
                panic!("docker-compose.yml: {context} has an unclosed `${{` in {value:?}")
            });
            let inner = &braced[..end];
            let default = inner
                .split_once(":-")
                .or_else(|| inner.split_once('-'))
                .map(|(_, default)| default);
            match default {
                Some(default) => out.push_str(default),
                None => panic!(
                    "docker-compose.yml: {context} takes `${{{inner}}}` from the host's \
                     environment, which this check cannot see; give it a default: \
                     `${{{inner}:-value}}`"
                ),
            }
            rest = &braced[end + 1..];
        } else {
            panic!(
                "docker-compose.yml: {context} uses `$` in {value:?}; write `$$` for a dollar \
                 sign or `${{NAME:-default}}` for a variable"
            );
        }
    }
    out.push_str(rest);
    out
}

/// A service's `environment:` (map or list form). A name without a value
/// passes the host's value through and maps to `None`.
fn environment(compose: &Value, name: &str) -> BTreeMap<String, Option<String>> {
    let service = service(compose, name);
    let mut variables = BTreeMap::new();
    match service.get("environment") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let value = match value {
                    Value::Null => None,
                    other => Some(interpolate(
                        &format!("services.{name}.environment.{key}"),
                        &scalar(other).unwrap_or_else(|| {
                            panic!(
                                "docker-compose.yml: services.{name}.environment.{key} must be \
                                 a string, number or boolean, not {other}"
                            )
                        }),
                    )),
                };
                variables.insert(key.clone(), value);
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                let text = scalar(item).unwrap_or_else(|| {
                    panic!(
                        "docker-compose.yml: services.{name}.environment has an entry that is \
                         not `NAME=value`: {item}"
                    )
                });
                let (key, value) = match text.split_once('=') {
                    Some((key, value)) => (
                        key.to_owned(),
                        Some(interpolate(
                            &format!("services.{name}.environment.{key}"),
                            value,
                        )),
                    ),
                    None => (text, None),
                };
                variables.insert(key, value);
            }
        }
        Some(other) => panic!(
            "docker-compose.yml: services.{name}.environment must be a map or a list, not {other}"
        ),
    }
    variables
}

/// The container ports a service publishes, from the short (`"8080:8080"`,
/// `"127.0.0.1:8080:8080/tcp"`, `"8000-8001:8000-8001"`) and the long syntax.
fn container_ports(compose: &Value, name: &str) -> Vec<u16> {
    let context = format!("services.{name}.ports");
    let parse = |text: &str| -> u16 {
        text.trim().parse().unwrap_or_else(|_| {
            panic!("docker-compose.yml: {context} has {text:?}, which is not a port number")
        })
    };
    let mut ports = Vec::new();
    let Some(entries) = service(compose, name).get("ports") else {
        return ports;
    };
    let entries = entries
        .as_array()
        .unwrap_or_else(|| panic!("docker-compose.yml: {context} must be a list"));
    for entry in entries {
        if let Some(target) = entry.get("target") {
            let target = scalar(target)
                .unwrap_or_else(|| panic!("docker-compose.yml: {context} has a bad target"));
            ports.push(parse(&interpolate(&context, &target)));
            continue;
        }
        let text = interpolate(
            &context,
            &scalar(entry)
                .unwrap_or_else(|| panic!("docker-compose.yml: {context} has a bad entry {entry}")),
        );
        let without_protocol = text.split('/').next().unwrap_or(&text);
        let container = without_protocol
            .rsplit(':')
            .next()
            .unwrap_or(without_protocol);
        match container.split_once('-') {
            Some((first, last)) => ports.extend(parse(first)..=parse(last)),
            None => ports.push(parse(container)),
        }
    }
    ports
}

/// One instruction of the Dockerfile: the keyword in capitals and its arguments.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    arguments: String,
}

/// The Dockerfile's instructions, continuation lines joined and comments
/// dropped (as Docker does, also inside a continued instruction).
fn dockerfile() -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(body) = line.trim_end().strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let full = std::mem::take(&mut current);
        let full = full.trim();
        let (keyword, arguments) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
        instructions.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            arguments: arguments.trim().to_owned(),
        });
    }
    instructions
}

/// Shell-like words: whitespace separates, quotes group, `\` escapes.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `a/./b/` → `a/b`, keeping a leading `/`.
fn normalise(path: &str) -> String {
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"))
}

fn resolve(workdir: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalise(path)
    } else {
        normalise(&format!("{workdir}/{path}"))
    }
}

/// A `COPY` of the runtime stage.
#[derive(Debug)]
struct Copy {
    from: Option<String>,
    sources: Vec<String>,
    /// Absolute, resolved against the `WORKDIR` in force.
    destination: String,
}

/// What the image that runs (the Dockerfile's last stage) is made of.
#[derive(Debug, Default)]
struct Runtime {
    env: BTreeMap<String, String>,
    expose: Vec<u16>,
    copies: Vec<Copy>,
    user: Option<String>,
    workdir: String,
}

fn runtime() -> Runtime {
    let instructions = dockerfile();
    let last_from = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .unwrap_or_else(|| panic!("the Dockerfile has no FROM instruction"));
    let mut runtime = Runtime {
        workdir: "/".to_owned(),
        ..Runtime::default()
    };
    for instruction in &instructions[last_from + 1..] {
        let arguments = instruction.arguments.as_str();
        match instruction.keyword.as_str() {
            "ENV" => {
                let words = words(arguments);
                if words.first().is_some_and(|w| w.contains('=')) {
                    for word in words {
                        let (name, value) = word.split_once('=').unwrap_or_else(|| {
                            panic!(
                                "Dockerfile: ENV {arguments:?} mixes `NAME=value` and `NAME value`"
                            )
                        });
                        runtime.env.insert(name.to_owned(), value.to_owned());
                    }
                } else if let Some((name, value)) = arguments.split_once(char::is_whitespace) {
                    runtime.env.insert(name.to_owned(), value.trim().to_owned());
                }
            }
            "EXPOSE" => {
                for port in words(arguments) {
                    let number = port.split('/').next().unwrap_or(&port);
                    runtime.expose.push(number.parse().unwrap_or_else(|_| {
                        panic!("Dockerfile: EXPOSE {port:?} is not a port number")
                    }));
                }
            }
            "WORKDIR" => runtime.workdir = resolve(&runtime.workdir, arguments),
            "USER" => runtime.user = Some(arguments.to_owned()),
            "COPY" | "ADD" => {
                let mut from = None;
                let mut rest = arguments;
                while let Some(flagged) = rest.strip_prefix("--") {
                    let (flag, tail) = flagged
                        .split_once(char::is_whitespace)
                        .unwrap_or((flagged, ""));
                    if let Some(stage) = flag.strip_prefix("from=") {
                        from = Some(stage.to_owned());
                    }
                    rest = tail.trim_start();
                }
                let mut paths: Vec<String> = if rest.starts_with('[') {
                    serde_json::from_str(rest).unwrap_or_else(|e| {
                        panic!(
                            "Dockerfile: {} {arguments}: bad JSON form: {e}",
                            instruction.keyword
                        )
                    })
                } else {
                    words(rest)
                };
                let destination = paths.pop().unwrap_or_default();
                runtime.copies.push(Copy {
                    from,
                    sources: paths,
                    destination: resolve(&runtime.workdir, &destination),
                });
            }
            _ => {}
        }
    }
    runtime
}

// ---- what the server would see -------------------------------------------------

/// The api container's environment: the image's `ENV`, overridden by
/// compose's `environment:` (variables passed through from the host are left out).
fn container_environment(compose: &Value, runtime: &Runtime) -> BTreeMap<String, String> {
    let mut env = runtime.env.clone();
    for (name, value) in environment(compose, API) {
        if let Some(value) = value {
            env.insert(name, value);
        }
    }
    env
}

fn settings(env: &BTreeMap<String, String>) -> Settings {
    Settings::from_lookup(|name| env.get(name).cloned()).unwrap_or_else(|e| {
        panic!("the api container's environment (Dockerfile ENV + compose) is rejected: {e}")
    })
}

/// Where `ATTIVA_CATALOG` (a path in the image) comes from in the repository:
/// it must lie in the folder a `COPY catalog/ ...` of the runtime stage fills.
fn catalog_in_repository(runtime: &Runtime, catalog: &str) -> PathBuf {
    let copy = runtime
        .copies
        .iter()
        .find(|copy| {
            copy.from.is_none()
                && copy
                    .sources
                    .iter()
                    .any(|source| normalise(source.trim_start_matches("./")) == "catalog")
        })
        .unwrap_or_else(|| {
            panic!(
                "the Dockerfile's runtime stage does not copy catalog/ from the build context \
                 (expected e.g. `COPY catalog/ /app/catalog/`); the server refuses to start \
                 without its catalog"
            )
        });
    let catalog = resolve(&runtime.workdir, catalog);
    let inside = catalog
        .strip_prefix(&format!("{}/", copy.destination))
        .unwrap_or_else(|| {
            panic!(
                "ATTIVA_CATALOG={catalog} is not inside {}, where the Dockerfile copies catalog/",
                copy.destination
            )
        });
    tests::repo_root().join("catalog").join(inside)
}

fn port_of(context: &str, address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("{context}={address:?} has no port"))
}

/// The parts of a `postgres://user:password@host:port/database` URL.
#[derive(Debug, PartialEq, Eq)]
struct PostgresUrl {
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
    database: String,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_postgres_url(url: &str) -> Result<PostgresUrl, String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or("it is not a postgres:// URL")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host_port) = authority
        .rsplit_once('@')
        .ok_or("it names no user (user:password@host)")?;
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(percent_decode(password))),
        None => (userinfo, None),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("its port {port:?} is not a number"))?,
        ),
        None => (host_port, POSTGRES_CONTAINER_PORT),
    };
    Ok(PostgresUrl {
        user: percent_decode(user),
        password,
        host: host.to_owned(),
        port,
        database: percent_decode(database),
    })
}

// ---- the checks ------------------------------------------------------------------

#[test]
fn the_stack_has_the_api_postgres_and_a_mail_catcher() {
    let compose = compose();
    let api = service(&compose, API);
    assert!(
        api.get("build").is_some(),
        "docker-compose.yml: service `{API}` has no `build:`, so it does not run this \
         repository's Dockerfile"
    );
    let image = service(&compose, POSTGRES)
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        image == "postgres" || image.starts_with("postgres:") || image.ends_with("/postgres"),
        "docker-compose.yml: service `{POSTGRES}` runs image {image:?}, not PostgreSQL"
    );
    let services = compose
        .get("services")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("docker-compose.yml has no `services:` map"));
    let catcher = services.iter().find(|(_, service)| {
        let image = service
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = image.split(':').next().unwrap_or(image);
        let name = name.rsplit('/').next().unwrap_or(name);
        MAIL_CATCHERS.contains(&name)
    });
    let Some((name, _)) = catcher else {
        panic!("docker-compose.yml has no SMTP catcher: no service runs one of {MAIL_CATCHERS:?}");
    };
    assert!(
        !container_ports(&compose, name).is_empty(),
        "docker-compose.yml: the mail catcher `{name}` publishes no ports (SMTP and its web UI)"
    );
}

#[test]
fn the_api_sets_only_variables_the_server_reads() {
    let compose = compose();
    let known: Vec<&str> = Settings::VARIABLES.iter().map(|v| v.name).collect();
    let service = service(&compose, API);
    assert!(
        service.get("env_file").is_none(),
        "docker-compose.yml: service `{API}` uses env_file, whose variables this check cannot \
         see; set them under `environment:`"
    );
    let unknown: Vec<String> = environment(&compose, API)
        .into_keys()
        .filter(|name| !known.contains(&name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "docker-compose.yml: service `{API}` sets {unknown:?}, which the server does not read \
         (it reads {known:?}, Settings::VARIABLES in api/src/settings.rs)"
    );
    let unknown: Vec<String> = runtime()
        .env
        .into_keys()
        .filter(|name| !known.contains(&name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the Dockerfile's runtime stage sets ENV {unknown:?}, which the server does not read \
         (it reads {known:?})"
    );
}

#[test]
fn the_api_environment_is_accepted_by_the_server_and_names_a_valid_catalog() {
    let compose = compose();
    let runtime = runtime();
    let mut env = container_environment(&compose, &runtime);
    let catalog = env.get("ATTIVA_CATALOG").cloned().unwrap_or_else(|| {
        panic!(
            "neither the Dockerfile nor compose sets ATTIVA_CATALOG; the default (a path \
             relative to the working directory) depends on where the image puts the catalog"
        )
    });
    let in_repository = catalog_in_repository(&runtime, &catalog);
    env.insert(
        "ATTIVA_CATALOG".to_owned(),
        in_repository.display().to_string(),
    );
    let settings = settings(&env);
    let path = settings
        .catalog_path
        .unwrap_or_else(|| panic!("ATTIVA_CATALOG={catalog} is set, yet not read"));
    api::config::catalog_file::load(&path).unwrap_or_else(|e| {
        panic!(
            "ATTIVA_CATALOG={catalog} in the image is {} here, which does not load: {e}",
            in_repository.display()
        )
    });
}

#[test]
fn the_api_listens_on_every_interface_on_the_port_compose_publishes() {
    let compose = compose();
    let runtime = runtime();
    let env = container_environment(&compose, &runtime);
    let bind = settings(&env).bind;
    assert!(
        bind.ip().is_unspecified(),
        "ATTIVA_BIND={bind} in the api container: it must bind 0.0.0.0 (or [::]) to be \
         reachable from outside the container"
    );
    let published = container_ports(&compose, API);
    assert!(
        published.contains(&bind.port()),
        "docker-compose.yml: ATTIVA_BIND listens on port {} but service `{API}` publishes \
         container ports {published:?}",
        bind.port()
    );
    assert!(
        runtime.expose.contains(&bind.port()),
        "the Dockerfile EXPOSEs {:?} but the api listens on port {} (ATTIVA_BIND)",
        runtime.expose,
        bind.port()
    );
    let image_bind = runtime.env.get("ATTIVA_BIND").unwrap_or_else(|| {
        panic!(
            "the Dockerfile does not set ENV ATTIVA_BIND; the server's default (127.0.0.1) is \
             unreachable from outside the container"
        )
    });
    assert!(
        image_bind.starts_with("0.0.0.0:") || image_bind.starts_with("[::]:"),
        "the Dockerfile sets ENV ATTIVA_BIND={image_bind}: the image must bind every interface"
    );
    assert_eq!(
        port_of("Dockerfile ENV ATTIVA_BIND", image_bind),
        bind.port(),
        "the Dockerfile's ENV ATTIVA_BIND={image_bind} and docker-compose.yml's (port {}) \
         disagree",
        bind.port()
    );
}

#[test]
fn database_url_points_at_the_postgres_service() {
    let compose = compose();
    let env = container_environment(&compose, &runtime());
    let url = env
        .get("DATABASE_URL")
        .unwrap_or_else(|| panic!("docker-compose.yml: service `{API}` does not set DATABASE_URL"));
    let actual = parse_postgres_url(url).unwrap_or_else(|problem| {
        panic!("docker-compose.yml: service `{API}` has DATABASE_URL={url:?}, but {problem}")
    });
    let postgres = environment(&compose, POSTGRES);
    let get = |name: &str| postgres.get(name).cloned().flatten();
    let user = get("POSTGRES_USER").unwrap_or_else(|| "postgres".to_owned());
    let expected = PostgresUrl {
        database: get("POSTGRES_DB").unwrap_or_else(|| user.clone()),
        password: get("POSTGRES_PASSWORD"),
        user,
        host: POSTGRES.to_owned(),
        port: POSTGRES_CONTAINER_PORT,
    };
    assert_eq!(
        actual, expected,
        "docker-compose.yml: DATABASE_URL={url:?} of service `{API}` (left) does not match \
         service `{POSTGRES}` (right: its name, port {POSTGRES_CONTAINER_PORT} and \
         POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB)"
    );

    let condition = service(&compose, API)
        .get("depends_on")
        .and_then(|d| d.get(POSTGRES))
        .and_then(|d| d.get("condition"))
        .and_then(Value::as_str);
    assert_eq!(
        condition,
        Some("service_healthy"),
        "docker-compose.yml: service `{API}` must depend on `{POSTGRES}` with condition \
         service_healthy, or it starts before the database accepts connections and exits"
    );
    assert!(
        service(&compose, POSTGRES).get("healthcheck").is_some(),
        "docker-compose.yml: service `{POSTGRES}` has no healthcheck, so service_healthy is \
         never reached"
    );
}

#[test]
fn the_image_runs_as_an_unprivileged_user() {
    let user = runtime().user.unwrap_or_else(|| {
        panic!("the Dockerfile's runtime stage has no USER, so the server runs as root")
    });
    let name = user.split(':').next().unwrap_or(&user);
    assert!(
        name != "root" && name != "0",
        "the Dockerfile's runtime stage runs as USER {user}, which is root"
    );
}

#[test]
fn the_parsers_understand_the_forms_they_claim() {
    assert_eq!(
        words(r#"A=1 B="two words" C='x\y' D=a\ b"#),
        ["A=1", "B=two words", r"C=x\y", "D=a b"]
    );
    assert_eq!(resolve("/app", "./catalog/"), "/app/catalog");
    assert_eq!(resolve("/app", "/srv//x/"), "/srv/x");
    assert_eq!(interpolate("t", "a$$b ${X:-one} ${Y-two}"), "a$b one two");
    assert_eq!(
        parse_postgres_url("postgresql://u:p%40ss@db/app?sslmode=disable"),
        Ok(PostgresUrl {
            user: "u".into(),
            password: Some("p@ss".into()),
            host: "db".into(),
            port: 5432,
            database: "app".into(),
        })
    );
    let compose: Value = serde_saphyr::from_str(
        "services:\n  s:\n    environment: [\"A=1\", B]\n    ports:\n      - \"127.0.0.1:1:2/udp\"\n      - 3\n      - \"4-5:4-5\"\n      - {target: 6, published: \"7\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(container_ports(&compose, "s"), [2, 3, 4, 5, 6]);
    let env = environment(&compose, "s");
    assert_eq!(env.get("A"), Some(&Some("1".to_owned())));
    assert_eq!(env.get("B"), Some(&None));
}
