//! What operators and integrators rely on: health probes, Prometheus
//! metrics, a request id on every response, security headers, and the
//! OpenAPI document with its (vendored) Swagger UI.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use tests::{Backend, Reply, TestApp, both_databases};

/// The value of one `attiva_http_requests_total` sample, if present.
fn requests_total(metrics: &str, method: &str, route: &str, status: u16) -> Option<f64> {
    let labels = [
        format!("method=\"{method}\""),
        format!("route=\"{route}\""),
        format!("status=\"{status}\""),
    ];
    metrics
        .lines()
        .filter(|line| line.starts_with("attiva_http_requests_total{"))
        .find(|line| labels.iter().all(|label| line.contains(label.as_str())))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn metrics(app: &TestApp) -> String {
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("text/plain")),
        "{:?}",
        reply.header("content-type")
    );
    reply.text
}

/// The `href` and `src` attribute values of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let Some(end) = rest.find('"') else { break };
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

both_databases!(the_process_reports_itself_alive, |app| async move {
    let reply = app.get("/health/live").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, json!({"status": "ok"}));
});

both_databases!(readiness_names_the_database_it_checked, |app| async move {
    let reply = app.get("/health/ready").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let database = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(reply.body, json!({"status": "ready", "database": database}));
});

both_databases!(metrics_count_requests_by_route_template, |app| async move {
    let before = metrics(app).await;
    assert_eq!(
        requests_total(&before, "GET", "/v1/catalog/products", 200),
        None,
        "nothing was asked yet: {before}"
    );

    for _ in 0..2 {
        assert_eq!(app.get("/v1/catalog/products").await.status, StatusCode::OK);
    }
    let cart = app.create_cart("web").await;
    assert_eq!(app.get_cart(&cart).await.status, StatusCode::OK);
    let ghost = format!("/v1/nothing-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(app.get(&ghost).await.status, StatusCode::NOT_FOUND);

    let text = metrics(app).await;
    assert!(
        text.contains("# TYPE attiva_http_requests counter"),
        "{text}"
    );
    assert!(
        text.contains("attiva_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert_eq!(
        requests_total(&text, "GET", "/v1/catalog/products", 200),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        requests_total(&text, "POST", "/v1/carts", 201),
        Some(1.0),
        "{text}"
    );
    // Routes are labelled by template: one series for every cart.
    assert_eq!(
        requests_total(&text, "GET", "/v1/carts/{id}", 200),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(&cart.0), "a cart id became a label: {text}");
    assert!(
        !text.contains(&ghost),
        "an unknown path became a label: {text}"
    );
    assert!(!text.contains(&cart.1), "{text}");
});

both_databases!(every_response_carries_a_request_id, |app| async move {
    let cart = app.create_cart("web").await;
    let replies: Vec<(&str, Reply)> = vec![
        ("200", app.get("/v1/catalog/products").await),
        (
            "201",
            app.post_json("/v1/carts", &json!({"channel": "web"})).await,
        ),
        (
            "401",
            app.send(app.request(Method::GET, &format!("/v1/carts/{}", cart.0)))
                .await,
        ),
        ("404", app.get("/v1/nothing-here").await),
        ("405", app.send(app.request(Method::PUT, "/v1/carts")).await),
        ("422", app.post_json("/v1/carts", &json!({})).await),
        ("metrics", app.get("/metrics").await),
    ];
    let mut seen = HashSet::new();
    for (what, reply) in &replies {
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no x-request-id"));
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{what}: not a UUID: {id}"
        );
        assert!(seen.insert(id.to_owned()), "{what}: request id {id} reused");
    }
    assert_eq!(replies[4].1.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(replies[5].1.status, StatusCode::UNPROCESSABLE_ENTITY);
});

both_databases!(a_client_request_id_is_echoed_back, |app| async move {
    let sent = "qa-run-42.step-7";
    for (method, path) in [
        (Method::GET, "/v1/catalog/products"),
        (Method::GET, "/v1/nothing-here"),
        (Method::PUT, "/v1/carts"),
        (Method::GET, "/health/live"),
    ] {
        let reply = app
            .send(
                app.request(method.clone(), path)
                    .header("x-request-id", sent),
            )
            .await;
        assert_eq!(reply.header("x-request-id"), Some(sent), "{method} {path}");
    }
    let reply = app
        .send(
            app.request(Method::POST, "/v1/carts")
                .header("X-Request-Id", sent)
                .json(&json!({"channel": "nope"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.header("x-request-id"), Some(sent));

    // An unusable id (too long to log) is replaced, not echoed.
    let long = "x".repeat(300);
    let reply = app
        .send(
            app.request(Method::GET, "/health/live")
                .header("x-request-id", &long),
        )
        .await;
    let id = reply.header("x-request-id").unwrap_or_default();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
});

both_databases!(security_headers_are_on_every_response, |app| async move {
    let (id, token) = app.create_cart("web").await;
    let cart = (id, token);
    let created = app
        .post_json("/v1/carts", &json!({"channel": "panel"}))
        .await;
    let read = app.get_cart(&cart).await;
    let added = app
        .add_item(&cart, &json!({"product_code": "fe", "years": 1}))
        .await;
    let item = added.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let removed = app
        .send(
            app.request(
                Method::DELETE,
                &format!("/v1/carts/{}/items/{item}", cart.0),
            )
            .header("x-cart-token", &cart.1),
        )
        .await;
    let refused = app
        .send(app.request(Method::GET, &format!("/v1/carts/{}", cart.0)))
        .await;
    assert_eq!(
        [
            created.status,
            read.status,
            added.status,
            removed.status,
            refused.status
        ],
        [
            StatusCode::CREATED,
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED
        ]
    );
    let cart_replies = [&created, &read, &added, &removed, &refused];
    for reply in cart_replies {
        // Carts carry their token and what a buyer chose: never cached.
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{}",
            reply.text
        );
    }

    let catalog = app.get("/v1/catalog/products").await;
    let missing = app.get("/v1/nothing-here").await;
    let live = app.get("/health/live").await;
    let docs = app.get("/docs/").await;
    for reply in cart_replies
        .into_iter()
        .chain([&catalog, &missing, &live, &docs])
    {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{}",
            reply.status
        );
        assert_eq!(
            reply.header("x-frame-options"),
            Some("DENY"),
            "{}",
            reply.status
        );
        assert_eq!(
            reply.header("referrer-policy"),
            Some("no-referrer"),
            "{}",
            reply.status
        );
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{}: {csp:?}",
            reply.status
        );
    }
    // The JSON API loads nothing; only the docs page runs scripts.
    assert!(
        catalog
            .header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{:?}",
        catalog.header("content-security-policy")
    );
    assert_eq!(live.header("cache-control"), Some("no-store"));
    assert_eq!(missing.header("cache-control"), Some("no-store"));
});

both_databases!(the_openapi_document_served_is_the_codes, |app| async move {
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{:?}",
        reply.header("content-type")
    );
    let generated: Value = serde_json::from_str(&api::openapi_json())
        .unwrap_or_else(|e| panic!("api::openapi_json() is not JSON: {e}"));
    assert_eq!(reply.body, generated);
    assert!(
        reply.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        reply.body["openapi"]
    );
    for path in [
        "/v1/catalog/products",
        "/v1/catalog/products/{code}",
        "/v1/carts",
        "/v1/carts/{id}",
        "/v1/carts/{id}/items",
        "/v1/carts/{id}/items/{item_id}",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        assert!(
            reply.body["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
});

both_databases!(
    the_docs_serve_a_vendored_swagger_ui_for_the_document,
    |app| async move {
        let redirect = app.get("/docs").await;
        assert!(
            redirect.status.is_redirection(),
            "{}: {}",
            redirect.status,
            redirect.text
        );
        assert_eq!(redirect.header("location"), Some("/docs/"));

        let index = app.get("/docs/").await;
        assert_eq!(index.status, StatusCode::OK, "{}", index.text);
        assert!(
            index
                .header("content-type")
                .is_some_and(|ct| ct.starts_with("text/html")),
            "{:?}",
            index.header("content-type")
        );
        assert!(
            index.text.to_lowercase().contains("swagger"),
            "{}",
            index.text
        );

        // Everything the page loads comes from this server (it renders offline).
        let assets = references(&index.text);
        assert!(
            assets.iter().any(|a| a.ends_with(".css")),
            "no stylesheet in {assets:?}"
        );
        assert!(
            assets.iter().any(|a| a.ends_with(".js")),
            "no script in {assets:?}"
        );
        for asset in &assets {
            assert!(
                !asset.contains("://") && !asset.starts_with("//"),
                "external asset {asset}"
            );
            let path = format!("/docs/{}", asset.trim_start_matches("./"));
            let reply = app.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            assert!(!reply.text.is_empty(), "{path} is empty");
            if path.ends_with(".css") {
                assert!(
                    reply
                        .header("content-type")
                        .is_some_and(|ct| ct.starts_with("text/css")),
                    "{path}"
                );
            }
        }
        // The initializer points the UI at the served document.
        let initializer = app.get("/docs/swagger-initializer.js").await;
        assert_eq!(initializer.status, StatusCode::OK);
        assert!(
            initializer.text.contains("/openapi.json"),
            "{}",
            initializer.text
        );
    }
);

/// The series of a metrics text: every sample line without its value.
fn series(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(name, _)| name.to_owned()))
        .collect()
}

both_databases!(
    an_invented_method_or_path_never_becomes_a_metrics_label,
    |app| async move {
        let invented = |n: usize| {
            let name = format!("X{}{}", uuid::Uuid::new_v4().simple(), "Q".repeat(n));
            Method::from_bytes(name.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let ghost = || format!("/v1/nothing-{}", uuid::Uuid::new_v4().simple());
        // Warm up: one invented method on a route, one on no route.
        let mut sent = Vec::new();
        for path in ["/v1/catalog/products".to_owned(), ghost()] {
            let method = invented(2_000);
            let reply = app.send(app.request(method.clone(), &path)).await;
            assert!(
                reply.status.is_client_error(),
                "{method} {path}: {}",
                reply.status
            );
            sent.push((method, path));
        }
        // Once more: `GET /metrics` itself is counted after its first answer.
        metrics(app).await;
        let before = metrics(app).await;
        for n in 0..20 {
            let path = if n % 2 == 0 {
                "/v1/catalog/products".to_owned()
            } else {
                ghost()
            };
            let method = invented(2_000 + n);
            let reply = app.send(app.request(method.clone(), &path)).await;
            assert!(
                reply.status.is_client_error(),
                "{method} {path}: {}",
                reply.status
            );
            sent.push((method, path));
        }
        let after = metrics(app).await;
        assert_eq!(
            series(&before),
            series(&after),
            "invented methods and paths added series"
        );
        for (method, path) in &sent {
            assert!(!after.contains(method.as_str()), "{method} became a label");
            // The route's template is a label; a path matching no route is not.
            if path.starts_with("/v1/nothing-") {
                assert!(!after.contains(path.as_str()), "{path} became a label");
            }
        }
        let status = app
            .send(app.request(invented(10), "/v1/catalog/products"))
            .await
            .status
            .as_u16();
        let text = metrics(app).await;
        assert_eq!(
            requests_total(&text, "other", "/v1/catalog/products", status),
            Some(12.0),
            "{text}"
        );
        assert!(
            requests_total(&text, "other", "unmatched", 404).is_some_and(|n| n >= 10.0),
            "{text}"
        );
        assert!(text.len() < 64 * 1024, "{} bytes of metrics", text.len());
    }
);
