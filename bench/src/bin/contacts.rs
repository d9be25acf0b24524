//! Contacts list benchmark (issue 10): one service with 100,000 contacts
//! among 1,001 services (the other 1,000 with 10 each), and 16 panel
//! clients at once asking for pages of 50 filtered by a name prefix (`q`)
//! or by `role`. Prints requests/s, p50 and p99 of each, and the query
//! plan of each list, on SQLite and then on PostgreSQL. Target: p99 at most
//! 10 ms on both. It prints and checks nothing about speed.
//!
//! `cargo run --release -p bench --bin contacts` (env: BENCH_SECONDS,
//! BENCH_CONTACTS, BENCH_CONCURRENCY, BENCH_DATABASES=sqlite,postgres; the
//! server's other `ATTIVA_*` settings from the environment). The server
//! runs in this process (2 workers); the contacts are stored below HTTP, in
//! chunks, before the measured runs.

/// The allocator of the `attiva` binary, so the server hosted here runs as
/// it does there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../process.rs"]
mod process;

#[path = "../client.rs"]
#[allow(dead_code)]
mod client;

use api::Application;
use api::config::settings::Settings;
use domain::contact::{Contact, ContactKind, ContactRole, IdFiscaleIva};
use domain::holder::{Address, HolderName};
use domain::{PartitaIva, ServiceStatus};
use persistence::contact::ContactFilter;
use persistence::service::NewService;
use persistence::{Database, DatabaseSettings};
use process::{env_number, percentile};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use uuid::Uuid;

const SYLLABLES: [&str; 24] = [
    "ro", "ma", "li", "ve", "ca", "to", "ni", "sa", "be", "lu", "fi", "po", "gra", "ri", "de",
    "mo", "bi", "an", "co", "ter", "sil", "val", "mar", "ber",
];

/// A company name of three syllables: about 14,000 of them, so a
/// two-letter prefix matches some hundreds of 100,000 contacts.
fn name(rng: &mut impl Rng) -> String {
    let mut name = String::new();
    for _ in 0..3 {
        name.push_str(SYLLABLES[rng.random_range(0..SYLLABLES.len())]);
    }
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('A');
    format!("{first}{} S.r.l.", chars.as_str())
}

fn contact(rng: &mut impl Rng) -> Contact {
    let first_ten = format!("{:010}", rng.random_range(0..10_000_000_000u64));
    let partita_iva = PartitaIva::with_check_digit(&first_ten)
        .map(|p| p.as_str().to_owned())
        .unwrap_or(first_ten);
    Contact {
        role: if rng.random_bool(0.5) {
            ContactRole::Cliente
        } else {
            ContactRole::Fornitore
        },
        kind: ContactKind::PersonaGiuridica,
        name: HolderName::Denominazione(name(rng)),
        partita_iva: Some(IdFiscaleIva {
            paese: "IT".into(),
            codice: partita_iva,
        }),
        codice_fiscale: None,
        sede: Address {
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "MI".into(),
            nazione: "IT".into(),
        },
        email: None,
        pec: None,
        codice_destinatario: None,
    }
}

struct Run {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// `concurrency` clients in a closed loop for `seconds`, each on its own
/// keep-alive connection (the benchmarks' minimal client, `src/client.rs`)
/// asking for the paths in turn.
async fn measure(
    address: std::net::SocketAddr,
    token: &str,
    paths: &[String],
    concurrency: usize,
    seconds: u64,
) -> Run {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let requests: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n"
            )
            .into_bytes()
        })
        .collect();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let Ok(mut connection) = client::Connection::open(address).await else {
                    return (latencies, 1);
                };
                let mut next = worker;
                while Instant::now() < deadline {
                    let request = &requests[next % requests.len()];
                    next += concurrency;
                    let sent = Instant::now();
                    match connection.send(request).await {
                        Ok(response) if response.status == 200 => latencies.push(sent.elapsed()),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            match client::Connection::open(address).await {
                                Ok(fresh) => connection = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mine, failed)) = task.await {
            latencies.extend(mine);
            errors += failed;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    Run {
        rate: latencies.len() as f64 / elapsed,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        errors,
    }
}

async fn bench_database(label: &str, url: &str) -> anyhow::Result<()> {
    let seconds = env_number("BENCH_SECONDS", 5);
    let contacts = env_number("BENCH_CONTACTS", 100_000) as usize;
    let concurrency = env_number("BENCH_CONCURRENCY", 16) as usize;
    let dir = tempfile::tempdir()?;
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/catalog.toml");
    let mail = dir.path().join("mail").display().to_string();
    let pairs = [
        ("ATTIVA_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", url),
        ("ATTIVA_CATALOG", catalog),
        ("ATTIVA_WORKERS", "2"),
        ("ATTIVA_MAIL_DIR", mail.as_str()),
    ];
    let settings = Settings::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| std::env::var(name).ok())
    })?;
    let app = Application::build(&settings).await?;
    let address = app.address();
    let base = format!("http://{address}");
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let store = Database::connect(&DatabaseSettings {
        url: url.to_owned(),
        max_connections: 2,
        busy_timeout: Duration::from_secs(30),
        read_connections: 0,
    })
    .await?;

    // One customer owning 1,001 services; the first is the measured one.
    let signup: Value = client
        .post(format!("{base}/v1/customers"))
        .json(&json!({
            "email": "contacts-bench@example.com", "password": "tramonto-sul-lago-di-como-42",
            "holder": {"kind": "persona_giuridica", "denominazione": "Bench S.r.l.",
                "codice_fiscale": "01234567897", "partita_iva": "01234567897",
                "address": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121",
                    "comune": "Milano", "provincia": "MI", "nazione": "IT"}}
        }))
        .send()
        .await?
        .json()
        .await?;
    let customer_id = signup["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| anyhow::anyhow!("sign-up failed: {signup}"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    let seeding = Instant::now();
    let mut services = Vec::new();
    for n in 0..1_001u64 {
        let tax_id = PartitaIva::with_check_digit(&format!("{:010}", 5_000_000_000 + n))
            .map(|p| p.as_str().to_owned())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        services.push(
            store
                .services()
                .insert_service(&NewService {
                    id: Uuid::new_v4(),
                    customer_id,
                    product_code: "fe".into(),
                    status: ServiceStatus::Active,
                    holder_tax_id: tax_id,
                    codice_destinatario: "KRRH6B9".into(),
                    expires_on: chrono::NaiveDate::from_ymd_opt(2030, 12, 31)
                        .unwrap_or(chrono::NaiveDate::MAX),
                })
                .await?,
        );
    }
    let measured = services[0].clone();
    let issued = api::panel::credentials::issue_panel_credentials(
        &store,
        &measured,
        Duration::from_secs(3600),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let user = store
        .panel_users()
        .find_panel_user_by_username(&issued.username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no panel user"))?;
    let mine: Vec<Contact> = (0..contacts).map(|_| contact(&mut rng)).collect();
    store
        .contacts()
        .insert_contacts(measured.id, &mine, user.id)
        .await?;
    for service in &services[1..] {
        let theirs: Vec<Contact> = (0..10).map(|_| contact(&mut rng)).collect();
        store
            .contacts()
            .insert_contacts(service.id, &theirs, user.id)
            .await?;
    }
    let seeded = seeding.elapsed();

    // The panel user's first login: the temporary password, then its own.
    let login: Value = client
        .post(format!("{base}/v1/auth/panel/login"))
        .json(&json!({"username": issued.username, "password": issued.temporary_password}))
        .send()
        .await?
        .json()
        .await?;
    let restricted = login["access_token"].as_str().unwrap_or_default();
    let chosen = "la mia nuova password del pannello";
    let changed: Value = client
        .post(format!("{base}/v1/panel/password"))
        .bearer_auth(restricted)
        .json(&json!({"current_password": issued.temporary_password,
            "new_password": chosen, "new_password_confirmation": chosen}))
        .send()
        .await?
        .json()
        .await?;
    let token = changed["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("password change failed: {changed}"))?
        .to_owned();

    println!(
        "contacts {label}: {contacts} in the measured service, 10 in each of 1,000 others, stored in {:.1} s",
        seeded.as_secs_f64()
    );
    // Two-letter prefixes of the names, and both roles.
    let prefixes: Vec<String> = SYLLABLES
        .iter()
        .filter(|s| s.len() == 2)
        .map(|s| (*s).to_owned())
        .collect();
    let by_name: Vec<String> = prefixes
        .iter()
        .map(|p| format!("/v1/panel/contacts?limit=50&q={p}"))
        .collect();
    let by_role: Vec<String> = ["cliente", "fornitore"]
        .iter()
        .map(|r| format!("/v1/panel/contacts?limit=50&role={r}"))
        .collect();
    // Warm-up: the caches and the connections.
    measure(address, &token, &by_name, concurrency, 1).await;
    for (what, paths, filter) in [
        (
            "q (name prefix)",
            &by_name,
            ContactFilter {
                name_prefix: Some("ro".into()),
                ..Default::default()
            },
        ),
        (
            "role",
            &by_role,
            ContactFilter {
                role: Some(ContactRole::Cliente),
                ..Default::default()
            },
        ),
    ] {
        let run = measure(address, &token, paths, concurrency, seconds).await;
        println!(
            "contacts {label} by {what:<16} concurrency {concurrency}  {:>8.1} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            run.rate, run.p50, run.p99, run.errors
        );
        let plan = store
            .contacts()
            .explain_list_contacts(measured.id, &filter, 50)
            .await?;
        for line in plan {
            println!("    plan: {line}");
        }
    }
    handle.stop(true).await;
    let _ = server.await;
    store.close().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; its figures mean nothing (use --release)");
    }
    let only = std::env::var("BENCH_DATABASES").unwrap_or_else(|_| "sqlite,postgres".into());
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/contacts.db?mode=rwc", dir.path().display());
    if only.contains("sqlite") {
        bench_database("sqlite", &sqlite).await?;
    }
    if !only.contains("postgres") {
        return Ok(());
    }
    let admin = sea_orm::Database::connect("postgres://postgres@127.0.0.1:5432/postgres").await;
    match admin {
        Err(_) => println!("contacts postgres: skipped (unreachable)"),
        Ok(admin) => {
            use sea_orm::ConnectionTrait;
            let name = format!("attiva_contacts_{}", Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
            let outcome = bench_database("postgres", &url).await;
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            outcome?;
        }
    }
    println!(
        "target (issue 10): a page of 50 by q or by role, p99 <= 10 ms on both databases at concurrency 16"
    );
    Ok(())
}
