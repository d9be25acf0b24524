//! Assembles the application: routes, the OpenAPI document, error
//! handlers for what no route matches (404, 405), and the HTTP server.

use crate::auth::throttle::Throttle;
use crate::auth::{PasswordHasher, Tokens};
use crate::catalog::view::CatalogView;
use crate::config::catalog_file;
use crate::config::settings::Settings;
use crate::config::state::{BodyDeadline, Lifetimes, Limits};
use crate::http::codes::ErrorCode;
use crate::http::json::BodyLimit;
use crate::http::observability::{self, Metrics};
use crate::http::problem::{ApiError, FieldError, Problem};
use crate::jobs::outbox::{self, OutboxHandle};
use crate::jobs::runner::Running;
use crate::mail::Mailer;
use crate::{
    backoffice, carts, catalog, contacts, customers, health, invoices, orders, panel, payments,
    services, setup,
};
use actix_router::ResourceDef;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{Method, header};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use persistence::{Database, DatabaseSettings};
use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Server as ApiServer};
use utoipa::{Modify, OpenApi as _};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Attiva API",
        description = "Order-to-activation backend of the Fatturazione Elettronica (FE) service and its add-on modules, first of all \"Incassi e pagamenti\".\n\nConventions: JSON in and out, `snake_case` fields, RFC 3339 timestamps, ISO dates, money as decimal strings in euro with two decimals. Errors are RFC 9457 `application/problem+json` with a stable `code` and, for validation, `errors[]` with JSON pointers. Every response carries an `X-Request-Id` header. A request body that does not arrive within the server's body timeout (10 s by default) is answered 408 `request_timeout` and the connection is closed.",
        license(name = "Proprietary", identifier = "LicenseRef-Proprietary"),
    ),
    tags(
        (name = "catalog", description = "Products on sale, their prices and rules"),
        (name = "carts", description = "Carts: items, prices, eligibility violations"),
        (name = "customers", description = "Customer-area accounts"),
        (name = "auth", description = "Logins, refresh-token rotation, logout"),
        (name = "panel", description = "The FE panel: credentials, password change, service status"),
        (name = "setup", description = "The FE configuration wizard of the panel: its steps, saved one at a time in order, and its completion, which activates the service"),
        (name = "contacts", description = "The panel service's contacts (anagrafiche): customers and suppliers"),
        (name = "invoices", description = "The panel service's FatturaPA invoices: import (XML, signed .p7m, zip), list, read, download"),
        (name = "backoffice", description = "Operators: login and back-office actions"),
        (name = "orders", description = "Checkout and the customer's orders"),
        (name = "payments", description = "Payment confirmation by the provider"),
        (name = "services", description = "Owned services, their modules and add-on purchases"),
        (name = "operations", description = "Health and metrics for operators"),
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&Security),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cart_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Cart-Token",
                "The token returned when the cart was created",
            ))),
        );
        for (name, audience) in [
            ("customer_area", "customer area (aud `customer_area`)"),
            ("panel", "FE panel (aud `panel`)"),
            ("backoffice", "back office (aud `backoffice`)"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(format!(
                            "An access token of the {audience}, from its login; a token of another audience is refused with 403"
                        )))
                        .build(),
                ),
            );
        }
        openapi.servers = Some(vec![ApiServer::new("/")]);
    }
}

/// Every API operation, one line per area: an area registers its own in its
/// `configure` (an endpoint is added there); a new area adds its line here.
/// The OpenAPI document follows, in this order.
fn operations(config: &mut ServiceConfig) {
    config
        .configure(catalog::configure)
        .configure(carts::configure)
        .configure(customers::configure)
        .configure(panel::configure)
        .configure(setup::configure)
        .configure(contacts::configure)
        .configure(invoices::configure)
        .configure(backoffice::configure)
        .configure(orders::configure)
        .configure(payments::configure)
        .configure(services::configure)
        .configure(health::configure);
}

/// The OpenAPI document of the code and the shipped catalog (product
/// codes, bounds), as committed.
pub fn openapi() -> OpenApi {
    match catalog_file::parse(catalog_file::SHIPPED_ORIGIN, catalog_file::SHIPPED)
        .ok()
        .and_then(|catalog| CatalogView::new(catalog).ok())
    {
        Some(view) => openapi_for(&view),
        // A broken shipped catalog fails its own tests; document the rest.
        None => operations_document(),
    }
}

/// The document for a given catalog, as served at `/openapi.json`.
pub fn openapi_for(view: &CatalogView) -> OpenApi {
    let mut api = operations_document();
    carts::document_catalog(&mut api, view);
    api
}

fn operations_document() -> OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(operations)
        .split_for_parts();
    api
}

/// The document's JSON, pretty-printed as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// Which methods each documented path accepts: answers 405 (with `Allow`)
/// rather than 404 when the path exists but the method does not.
struct RouteTable {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl RouteTable {
    fn new(api: &OpenApi) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<Method>)> = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        // A path without parameters first: `/v1/panel/invoices/import`
        // is that path, not an invoice `{id}`.
        routes.sort_by_key(|(def, _)| def.pattern().is_some_and(|p| p.contains('{')));
        routes.push((ResourceDef::new("/openapi.json"), vec![Method::GET]));
        routes.push((ResourceDef::new("/docs"), vec![Method::GET]));
        RouteTable { routes }
    }

    fn allowed(&self, path: &str) -> Option<&[Method]> {
        self.routes
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

/// 405 with `Allow`: the path is documented, the method is not.
fn method_not_allowed(req: &HttpRequest, methods: &[Method]) -> ApiError {
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here; allowed: {allow}", req.method()),
    )
    .with_header(
        header::ALLOW,
        header::HeaderValue::from_str(&allow).unwrap_or(header::HeaderValue::from_static("GET")),
    )
}

async fn no_route(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    use actix_web::ResponseError;
    let error = match table.allowed(req.path()) {
        Some(methods) => method_not_allowed(&req, methods),
        None => ApiError::not_found(
            ErrorCode::RouteNotFound,
            format!("no resource at {}", req.path()),
        ),
    };
    error.error_response()
}

/// Bad path parameters (a malformed id) mean nothing can be there: 404,
/// naming the parameter, in our words (the parser's would show internals).
/// Every path parameter that can fail to parse is an id, a UUID.
fn path_error(_error: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    // A path of its own that a parameter's route matched too
    // (`GET /v1/panel/invoices/import` is not the invoice `import`).
    if let Some(methods) = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| table.allowed(req.path()))
        .filter(|methods| !methods.contains(req.method()))
    {
        return method_not_allowed(req, methods).into();
    }
    let detail = match req
        .match_info()
        .iter()
        .find(|(_, value)| uuid::Uuid::parse_str(value).is_err())
    {
        Some((name, _)) => format!("no such resource: {name} must be a UUID"),
        None => "no such resource: the path has a parameter that is not valid".to_owned(),
    };
    ApiError::not_found(ErrorCode::NotFound, detail).into()
}

/// Query strings go through [`crate::http::query::Query`], which names the
/// parameter; this answers any `web::Query` left, without the parser's text.
fn query_error(
    _error: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::field(
        "query",
        ErrorCode::InvalidQuery,
        "the query string is not valid",
    )
    .into()
}

/// The document and its pre-rendered bytes.
struct ApiDocument {
    json: web::Bytes,
}

async fn serve_openapi(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.json.clone())
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// Everything the workers share.
#[derive(Clone)]
struct Shared {
    db: web::Data<Database>,
    catalog: web::Data<CatalogView>,
    metrics: web::Data<Metrics>,
    limits: web::Data<Limits>,
    routes: web::Data<RouteTable>,
    document: web::Data<ApiDocument>,
    body_limit: BodyLimit,
    body_deadline: BodyDeadline,
    tokens: web::Data<Tokens>,
    hasher: web::Data<PasswordHasher>,
    throttle: web::Data<Throttle>,
    lifetimes: web::Data<Lifetimes>,
    outbox: web::Data<OutboxHandle>,
    orders: web::Data<crate::config::settings::OrderSettings>,
    imports: web::Data<crate::config::settings::ImportSettings>,
}

/// A running server: its address, a handle to stop it, and its database.
pub struct Application {
    server: Server,
    address: SocketAddr,
    db: Database,
    outbox: Running,
    expiry: Running,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish()
    }
}

impl Application {
    /// Loads the catalog (a broken one stops here, naming the problem),
    /// connects to the database, applies migrations and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let catalog = catalog_file::load_or_shipped(settings.catalog_path.as_deref())?;
        let view = CatalogView::new(catalog).context("rendering the catalog")?;
        let api = openapi_for(&view);
        let db = connect_database(settings).await?;
        tracing::info!(
            backend = db.backend().as_str(),
            catalog = %settings
                .catalog_path
                .as_deref()
                .map_or(catalog_file::SHIPPED_ORIGIN.into(), |p| p.display().to_string()),
            effective_date = %view.catalog.effective_date(),
            products = view.catalog.products().count(),
            "database migrated and catalog loaded"
        );

        let json = api.to_json().context("rendering the OpenAPI document")?;
        let mailer = Mailer::from_settings(&settings.mail)?;
        let outbox = OutboxHandle::new();
        let shared = Shared {
            db: web::Data::new(db.clone()),
            catalog: web::Data::new(view),
            metrics: web::Data::from(Metrics::new()),
            limits: web::Data::new(Limits::default()),
            routes: web::Data::new(RouteTable::new(&api)),
            document: web::Data::new(ApiDocument {
                json: web::Bytes::from(json),
            }),
            body_limit: BodyLimit(settings.max_body_bytes),
            body_deadline: BodyDeadline(settings.body_timeout),
            tokens: web::Data::new(Tokens::new(
                &settings.auth.jwt_secret,
                &settings.auth.jwt_issuer,
                settings.auth.access_token_ttl,
                settings.auth.refresh_token_ttl,
            )),
            hasher: web::Data::new(
                PasswordHasher::new(settings.auth.max_concurrent_hashes)
                    .context("preparing the password hasher")?,
            ),
            throttle: web::Data::new(Throttle {
                max_failures: settings.auth.login_max_failures,
                max_failures_per_address: settings.auth.login_max_failures_per_address,
                max_failures_per_account: settings.auth.login_max_failures_per_account,
                window: settings.auth.login_window,
                proxies: settings.auth.trusted_proxies.clone(),
            }),
            lifetimes: web::Data::new(Lifetimes {
                temporary_password: settings.auth.temporary_password_ttl,
            }),
            outbox: web::Data::new(outbox.clone()),
            orders: web::Data::new(settings.orders.clone()),
            imports: web::Data::new(settings.imports),
        };
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {} (ATTIVA_BIND)", settings.bind))?;
        let address = listener.local_addr()?;
        let server = HttpServer::new(move || {
            let shared = shared.clone();
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(shared.db)
                .app_data(shared.catalog)
                .app_data(shared.metrics)
                .app_data(shared.limits)
                .app_data(shared.routes)
                .app_data(shared.document)
                .app_data(shared.body_limit)
                .app_data(shared.body_deadline)
                .app_data(shared.tokens)
                .app_data(shared.hasher)
                .app_data(shared.throttle)
                .app_data(shared.lifetimes)
                .app_data(shared.outbox)
                .app_data(shared.orders)
                .app_data(shared.imports)
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .configure(operations)
                .split_for_parts();
            app.wrap(from_fn(observability::observe))
                .route("/openapi.json", web::get().to(serve_openapi))
                .route("/docs", web::get().to(docs_redirect))
                .service(
                    SwaggerUi::new("/docs/{_:.*}").config(SwaggerConfig::new(["/openapi.json"])),
                )
                .default_service(web::to(no_route))
        })
        .workers(settings.workers)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        tracing::info!(%address, "listening");
        let outbox = outbox::worker(db.clone(), mailer, settings.mail.outbox_poll, outbox).start();
        let expiry = crate::jobs::expiry::start(
            db.clone(),
            settings.orders.expiry_sweep,
            settings.auth.login_window,
        );
        Ok(Application {
            server,
            address,
            db,
            outbox,
            expiry,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops the server gracefully when told (tests, or a shutdown signal
    /// the server did not catch itself).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; SIGTERM and SIGINT stop it gracefully
    /// (in-flight requests get `ATTIVA_SHUTDOWN_TIMEOUT_SECS`).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        self.outbox.stop().await;
        self.expiry.stop().await;
        self.db.close().await;
        tracing::info!("server stopped");
        Ok(result?)
    }
}

/// Connects (creating the SQLite folder if needed) and applies migrations.
pub async fn connect_database(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database_url.expose_secret().to_owned();
    let folder = sqlite_file(&url)
        .and_then(|path| std::path::Path::new(path).parent())
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating the database folder {}", folder.display()))?;
    }
    let db = Database::connect(&DatabaseSettings {
        url,
        max_connections: settings.database_max_connections,
        busy_timeout: settings.database_busy_timeout,
        read_connections: settings.database_read_connections,
    })
    .await
    .context("connecting to the database (DATABASE_URL)")?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

/// The file path of an SQLite URL, to create its folder.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_file("sqlite://data/attiva.db?mode=rwc"),
            Some("data/attiva.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }

    #[test]
    fn every_operation_is_documented() {
        let api = openapi();
        for (path, item) in &api.paths.paths {
            for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                assert!(op.operation_id.is_some(), "{path}: no operationId");
                assert!(
                    op.tags.as_ref().is_some_and(|t| !t.is_empty()),
                    "{path}: no tag"
                );
                assert!(op.summary.is_some(), "{path}: no summary");
            }
        }
    }
}
