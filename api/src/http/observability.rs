//! What every response goes through: a request id, security headers,
//! Prometheus metrics, and one log line per request.

use actix_web::HttpRequest;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id, available to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

// Every label value comes from a small, fixed set: a standard method name
// (or `other`), a route template (or `unmatched`) and a status code. Nothing
// the client spells (a method name, a path) becomes a label, so no request
// can add series at will.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// The method's label: its name if it is one of RFC 9110's (and PATCH),
/// `other` for anything else a client may invent.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The route's label: the template of the route that matched (never the
/// path asked for), or `unmatched`.
fn route_label(request: &HttpRequest) -> String {
    request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// The server's Prometheus registry and the HTTP metrics in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("attiva");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template",
            durations.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            durations,
        })
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "encoding metrics failed");
        }
        out
    }

    /// Counts a request. The metric handles of a named route are cached per
    /// worker thread, so the hot path neither allocates nor takes the
    /// families' locks; unnamed (unmatched) requests take the slow path.
    fn observe(self: &Arc<Self>, request: &HttpRequest, status: u16, seconds: f64) {
        let Some(name) = request.match_name() else {
            let (requests, durations) = self.handles(request, status);
            requests.inc();
            durations.observe(seconds);
            return;
        };
        let owner = Arc::as_ptr(self) as usize;
        // Cached by the method's label, not the method: an invented method
        // on a named route must not grow the cache either.
        let method = method_label(request.method());
        HANDLES.with_borrow_mut(|cache| {
            let entries = cache.entry((owner, name.to_owned())).or_default();
            if let Some(entry) = entries
                .iter()
                .find(|e| e.status == status && e.method == method)
            {
                entry.requests.inc();
                entry.durations.observe(seconds);
                return;
            }
            let (requests, durations) = self.handles(request, status);
            requests.inc();
            durations.observe(seconds);
            entries.push(CachedHandles {
                method,
                status,
                requests,
                durations,
            });
        });
    }

    fn handles(&self, request: &HttpRequest, status: u16) -> (Counter, Histogram) {
        let route = route_label(request);
        let method = method_label(request.method());
        let requests = self.requests.get_or_create_owned(&RequestLabels {
            method,
            route: route.clone(),
            status,
        });
        let durations = self
            .durations
            .get_or_create_owned(&RouteLabels { method, route });
        (requests, durations)
    }
}

/// Metric handles of one (route, method, status).
struct CachedHandles {
    method: &'static str,
    status: u16,
    requests: Counter,
    durations: Histogram,
}

type HandleCache = HashMap<(usize, String), Vec<CachedHandles>>;

thread_local! {
    static HANDLES: RefCell<HandleCache> = RefCell::new(HashMap::new());
}

/// Accepts a caller's request id if it is short and printable; otherwise
/// makes one.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_owned)
}

/// A v4 UUID from the thread's user-space RNG (no system call per request).
fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The one middleware of the app (a single layer keeps the hot path short).
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<actix_web::web::Data<Metrics>>().cloned();
    // HEAD is answered wherever GET is (RFC 9110 §9.3.2): routed as GET,
    // the body dropped below.
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if head {
        response = response.map_body(|_, _| BoxBody::new(()));
    } else if response.status().as_u16() >= 400
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        // An error some library answered without a body (e.g. an unknown
        // Swagger UI asset): every error is a problem document.
        let status = response.status();
        response = response.map_body(|head, _| {
            let problem = crate::http::problem::ApiError::new(
                status,
                if status == actix_web::http::StatusCode::NOT_FOUND {
                    crate::http::codes::ErrorCode::RouteNotFound
                } else {
                    crate::http::codes::ErrorCode::Error
                },
                status.canonical_reason().unwrap_or("error"),
            )
            .problem();
            head.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::http::problem::PROBLEM_JSON),
            );
            BoxBody::new(serde_json::to_vec(&problem).unwrap_or_default())
        });
    }

    let status = response.status().as_u16();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let policy = if response.request().path().starts_with("/docs") {
        // Swagger UI runs its own scripts and styles, all served from here.
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let request = response.request();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(request, status, elapsed.as_secs_f64());
    }
    if tracing::enabled!(tracing::Level::INFO) {
        let route = route_label(request);
        tracing::info!(
            request_id = %request_id,
            method = %request.method(),
            path = %request.path(),
            route = %route,
            status,
            micros = elapsed.as_micros() as u64,
            "request"
        );
    }
    Ok(response)
}
