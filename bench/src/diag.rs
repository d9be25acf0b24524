//! `BENCH_DIAGNOSE=1`: where the catalog's overhead over the minimal
//! handler goes. Attiva's catalog handler is served from a bare `App`
//! behind one piece of Attiva's middleware at a time (each a copy of that
//! part of `api::http::observability::observe`), so the cost of each piece shows
//! up as throughput and server CPU per request.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::time::Instant;
use uuid::Uuid;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One piece of the middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A `from_fn` layer that does nothing: the cost of the layer itself.
    Noop,
    /// `Uuid::new_v4().to_string()`, into the extensions and the response.
    RequestId,
    /// The same request id, from a user-space RNG and without allocating.
    RequestIdFast,
    /// The five static security headers and the `cache-control` default.
    Headers,
    /// `match_pattern()` and the two Prometheus families keyed by `String`s.
    Metrics,
    /// `tracing::info!` of the request line (no subscriber: near nothing).
    Log,
    /// All of `observe` as it could be: the fast request id, the headers
    /// with the map reserved once, and metric handles cached per worker
    /// and route (same labels, same values), plus the same log line.
    Lean,
}

impl Piece {
    pub fn name(self) -> &'static str {
        match self {
            Piece::Noop => "mw:noop",
            Piece::RequestId => "mw:request-id",
            Piece::RequestIdFast => "mw:request-id-fast",
            Piece::Headers => "mw:headers",
            Piece::Metrics => "mw:metrics",
            Piece::Log => "mw:log",
            Piece::Lean => "mw:lean",
        }
    }

    pub const ALL: [Piece; 7] = [
        Piece::Noop,
        Piece::RequestId,
        Piece::RequestIdFast,
        Piece::Headers,
        Piece::Metrics,
        Piece::Log,
        Piece::Lean,
    ];
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The same families as `api::http::observability::Metrics`.
#[derive(Clone)]
pub struct Families {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

impl Families {
    pub fn new() -> Self {
        Families {
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
        }
    }
}

/// A v4 UUID from the thread's user-space RNG, as a header value, with no
/// heap allocation for the text.
fn fast_request_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("-"))
}

/// The metric handles of one (route, method, status), cached per worker
/// thread: a hit costs a hash of the route name and no allocation.
struct Handles {
    method: actix_web::http::Method,
    status: u16,
    requests: Counter,
    durations: Histogram,
}

thread_local! {
    static HANDLES: std::cell::RefCell<std::collections::HashMap<String, Vec<Handles>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn observe_cached(
    families: &Families,
    request: &actix_web::HttpRequest,
    status: u16,
    seconds: f64,
) {
    let name = request.match_name().unwrap_or("unmatched");
    HANDLES.with_borrow_mut(|cache| {
        let entries = match cache.get_mut(name) {
            Some(entries) => entries,
            None => cache.entry(name.to_owned()).or_default(),
        };
        if let Some(h) = entries
            .iter()
            .find(|h| h.status == status && h.method == request.method())
        {
            h.requests.inc();
            h.durations.observe(seconds);
            return;
        }
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let method = request.method().as_str().to_owned();
        let handles = Handles {
            method: request.method().clone(),
            status,
            requests: families.requests.get_or_create_owned(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            }),
            durations: families
                .durations
                .get_or_create_owned(&RouteLabels { method, route }),
        };
        handles.requests.inc();
        handles.durations.observe(seconds);
        entries.push(handles);
    });
}

/// Runs `piece` around the handler.
pub async fn around(
    piece: Piece,
    families: Families,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    match piece {
        Piece::Noop => next.call(req).await,
        Piece::RequestId => {
            let id = Uuid::new_v4().to_string();
            // api stores `RequestId(String)`; a bare String costs the same.
            req.extensions_mut().insert(id.clone());
            let mut response = next.call(req).await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        Piece::RequestIdFast => {
            let id = fast_request_id();
            req.extensions_mut().insert(id.clone());
            let mut response = next.call(req).await?;
            response.headers_mut().insert(REQUEST_ID, id);
            Ok(response)
        }
        Piece::Headers => {
            let mut response = next.call(req).await?;
            let headers = response.headers_mut();
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
                "default-src 'self'"
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
            Ok(response)
        }
        Piece::Metrics => {
            let started = Instant::now();
            let response = next.call(req).await?;
            let status = response.status().as_u16();
            let request = response.request();
            let route = request
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let method = request.method().as_str();
            families
                .requests
                .get_or_create(&RequestLabels {
                    method: method.to_owned(),
                    route: route.clone(),
                    status,
                })
                .inc();
            families
                .durations
                .get_or_create(&RouteLabels {
                    method: method.to_owned(),
                    route,
                })
                .observe(started.elapsed().as_secs_f64());
            Ok(response)
        }
        Piece::Lean => {
            let started = Instant::now();
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .filter(|v| {
                    !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(u8::is_ascii_graphic)
                })
                .cloned()
                .unwrap_or_else(fast_request_id);
            req.extensions_mut()
                .insert(id.to_str().unwrap_or_default().to_owned());
            let mut response = next.call(req).await?;
            let status = response.status().as_u16();
            let headers = response.headers_mut();
            headers.reserve(6);
            headers.insert(REQUEST_ID, id.clone());
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
                "default-src 'self'"
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
            let elapsed = started.elapsed();
            let request = response.request();
            observe_cached(&families, request, status, elapsed.as_secs_f64());
            tracing::info!(
                request_id = ?id,
                method = %request.method(),
                path = %request.path(),
                // Evaluated only when the event is enabled.
                route = %request.match_pattern().unwrap_or_default(),
                status,
                micros = elapsed.as_micros() as u64,
                "request"
            );
            Ok(response)
        }
        Piece::Log => {
            let started = Instant::now();
            let response = next.call(req).await?;
            let request = response.request();
            tracing::info!(
                method = %request.method(),
                path = %request.path(),
                status = response.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
            Ok(response)
        }
    }
}
