//! Servers under test, each started on its own thread with its own (idle)
//! Tokio runtime, so that nothing the server registers there (its control
//! task, the database pool's first connection) waits on the busy load
//! generator's runtime. Request handling happens on actix's own worker
//! threads (`actix-server worker N`), whose CPU time is accounted.

use crate::{cpu, diag};
use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use api::catalog::{routes as catalog, view::CatalogView};
use api::http::observability;
use api::{Application, Settings};
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::pin::Pin;

type Serve = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;
type Running = (SocketAddr, ServerHandle, Serve);

const WORKER_THREAD: &str = "actix-server wo"; // "actix-server worker N", cut to 15 bytes

/// A running server.
pub struct Hosted {
    pub name: &'static str,
    pub address: SocketAddr,
    /// Its actix worker threads.
    pub workers: Vec<u32>,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hosted {
    /// Graceful stop; waits for the server (and its database pool) to close.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

async fn host<F, Fut>(
    name: &'static str,
    expected_workers: usize,
    start: F,
) -> anyhow::Result<Hosted>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Running>> + 'static,
{
    let before = cpu::threads_named(WORKER_THREAD);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(format!("bench-host-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = tx.send(Err(anyhow::Error::from(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                match start().await {
                    Ok((address, handle, serve)) => {
                        let _ = tx.send(Ok((address, handle)));
                        if let Err(error) = serve.await {
                            eprintln!("bench: server {name} failed: {error:#}");
                        }
                    }
                    Err(error) => {
                        let _ = tx.send(Err(error));
                    }
                }
            });
        })?;
    let (address, handle) = rx
        .await
        .context("the server thread ended before starting")?
        .with_context(|| format!("starting the {name} server"))?;
    // `HttpServer::run` spawns the workers before the address is sent, but
    // a thread names itself once it runs: wait for the names to show.
    let mut workers = Vec::new();
    for _ in 0..200 {
        workers = cpu::threads_named(WORKER_THREAD)
            .into_iter()
            .filter(|tid| !before.contains(tid))
            .collect();
        if workers.len() >= expected_workers {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Ok(Hosted {
        name,
        address,
        workers,
        handle,
        thread: Some(thread),
    })
}

/// The real server, as `attiva` starts it (without a tracing subscriber).
pub async fn attiva(name: &'static str, settings: Settings) -> anyhow::Result<Hosted> {
    host(name, settings.workers, move || async move {
        let application = Application::build(&settings).await?;
        let address = application.address();
        let handle = application.handle();
        let serve: Serve = Box::pin(application.run_until_stopped());
        Ok((address, handle, serve))
    })
    .await
}

fn serve(server: actix_web::dev::Server) -> Serve {
    Box::pin(async move { server.await.map_err(anyhow::Error::from) })
}

/// The limit: one worker, one route, one handler answering `body` as JSON.
pub async fn minimal(body: Vec<u8>) -> anyhow::Result<Hosted> {
    host("minimal", 1, move || async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let body = web::Bytes::from(body);
        let server = HttpServer::new(move || {
            let body = body.clone();
            App::new().route(
                "/v1/catalog/products",
                web::get().to(move || {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        Ok((address, handle, serve(server)))
    })
    .await
}

/// Diagnosis: Attiva's own catalog handler in a bare `App`, with or
/// without Attiva's middleware (`observability::observe`).
pub async fn catalog_handler(
    name: &'static str,
    catalog_path: &Path,
    with_middleware: bool,
) -> anyhow::Result<Hosted> {
    let catalog = api::config::catalog_file::load(catalog_path)?;
    let view = web::Data::new(CatalogView::new(catalog)?);
    host(name, 1, move || async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let metrics = web::Data::from(observability::Metrics::new());
        let server = if with_middleware {
            HttpServer::new(move || {
                App::new()
                    .app_data(view.clone())
                    .app_data(metrics.clone())
                    .wrap(from_fn(observability::observe))
                    .service(catalog::list_products)
            })
            .workers(1)
            .shutdown_timeout(1)
            .listen(listener)?
            .run()
        } else {
            HttpServer::new(move || {
                App::new()
                    .app_data(view.clone())
                    .service(catalog::list_products)
            })
            .workers(1)
            .shutdown_timeout(1)
            .listen(listener)?
            .run()
        };
        let handle = server.handle();
        Ok((address, handle, serve(server)))
    })
    .await
}

/// Diagnosis: Attiva's catalog handler behind one piece of its middleware.
pub async fn catalog_piece(catalog_path: &Path, piece: diag::Piece) -> anyhow::Result<Hosted> {
    let catalog = api::config::catalog_file::load(catalog_path)?;
    let view = web::Data::new(CatalogView::new(catalog)?);
    host(piece.name(), 1, move || async move {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let families = diag::Families::new();
        let server = HttpServer::new(move || {
            let families = families.clone();
            App::new()
                .app_data(view.clone())
                .wrap(from_fn(move |req, next| {
                    diag::around(piece, families.clone(), req, next)
                }))
                .service(catalog::list_products)
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        Ok((address, handle, serve(server)))
    })
    .await
}
