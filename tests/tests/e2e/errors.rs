//! What a client gets when it gets something wrong: always an RFC 9457
//! `application/problem+json` with `type`, `title`, `status`, `detail` and a
//! stable `code`, plus JSON pointers to the offending fields for validation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{Reply, TestApp, both_databases};

/// Asserts a complete problem document (RFC 9457 plus the API's `code`)
/// with this status and code; returns its body.
pub(crate) fn assert_rfc9457<'a>(reply: &'a Reply, status: u16, code: &str) -> &'a Value {
    let body = reply.assert_problem(status, code);
    assert_eq!(
        body["type"],
        format!("urn:attiva:problem:{code}"),
        "{}",
        reply.text
    );
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or_else(|| panic!("no reason phrase for {status}"));
    assert_eq!(body["title"], reason, "{}", reply.text);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty()),
        "no detail: {}",
        reply.text
    );
    body
}

/// Asserts a 422 whose first field error is at `pointer` with `code`.
pub(crate) fn assert_invalid_field(reply: &Reply, pointer: &str, code: &str) {
    let body = assert_rfc9457(reply, 422, "validation_failed");
    let first = &body["errors"][0];
    assert_eq!(first["pointer"], pointer, "{}", reply.text);
    assert_eq!(first["code"], code, "{}", reply.text);
    assert!(
        first["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        reply.text
    );
}

/// `POST /v1/carts` with a raw body and an optional content type.
async fn post_carts_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = app.request(Method::POST, "/v1/carts").body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    app.send(request).await
}

both_databases!(
    an_unknown_route_is_a_route_not_found_problem,
    |app| async move {
        for path in [
            "/v1/nothing-here",
            "/v2/carts",
            "/",
            "/v1/catalog/products/fe/prices",
        ] {
            let reply = app.get(path).await;
            let body = assert_rfc9457(&reply, 404, "route_not_found");
            assert!(
                body["detail"].as_str().is_some_and(|d| d.contains(path)),
                "{path}: {}",
                reply.text
            );
        }
    }
);

both_databases!(
    a_wrong_method_is_a_405_that_names_the_allowed_one,
    |app| async move {
        let cart = uuid::Uuid::new_v4();
        let item = uuid::Uuid::new_v4();
        let cases = [
            (Method::PUT, "/v1/carts".to_owned(), "POST"),
            (Method::GET, "/v1/carts".to_owned(), "POST"),
            (Method::DELETE, "/v1/catalog/products".to_owned(), "GET"),
            (Method::POST, "/v1/catalog/products/fe".to_owned(), "GET"),
            (Method::PATCH, format!("/v1/carts/{cart}"), "GET"),
            (Method::GET, format!("/v1/carts/{cart}/items"), "POST"),
            (
                Method::PUT,
                format!("/v1/carts/{cart}/items/{item}"),
                "DELETE",
            ),
            (Method::POST, "/health/live".to_owned(), "GET"),
            (Method::DELETE, "/openapi.json".to_owned(), "GET"),
        ];
        for (method, path, allowed) in cases {
            let reply = app.send(app.request(method.clone(), &path)).await;
            let body = assert_rfc9457(&reply, 405, "method_not_allowed");
            assert_eq!(
                reply.header("allow"),
                Some(allowed),
                "{method} {path}: {}",
                reply.text
            );
            assert!(
                body["detail"].as_str().is_some_and(|d| d.contains(allowed)),
                "{method} {path}: {}",
                reply.text
            );
        }
    }
);

both_databases!(
    malformed_json_is_a_400_malformed_json_problem,
    |app| async move {
        for text in [
            r#"{"channel": "#,
            r#"{"channel": 'web'}"#,
            "not json",
            r#"{"channel": "web"} {"#,
        ] {
            let reply = post_carts_raw(app, Some("application/json"), text).await;
            assert_rfc9457(&reply, 400, "malformed_json");
            assert!(reply.body.get("errors").is_none(), "{text}: {}", reply.text);
        }
    }
);

both_databases!(
    an_unknown_field_is_refused_so_no_mass_assignment,
    |app| async move {
        let reply = app
            .post_json("/v1/carts", &json!({"channel": "web", "evil": true}))
            .await;
        let body = assert_rfc9457(&reply, 422, "validation_failed");
        assert_eq!(body["errors"][0]["code"], "unknown_field", "{}", reply.text);
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("evil")),
            "{}",
            reply.text
        );

        // Server-owned fields cannot be smuggled into an item either.
        let cart = app.create_cart("web").await;
        for field in ["unit_price", "net", "status"] {
            let mut item = json!({"product_code": "fe", "years": 1});
            item[field] = json!("0.00");
            let reply = app.add_item(&cart, &item).await;
            let body = assert_rfc9457(&reply, 422, "validation_failed");
            assert_eq!(body["errors"][0]["code"], "unknown_field", "{}", reply.text);
        }
        let reply = app.get_cart(&cart).await;
        assert_eq!(reply.body["items"], json!([]), "{}", reply.text);
    }
);

both_databases!(
    an_unknown_field_is_pointed_at_by_its_own_pointer,
    |app| async move {
        let reply = app
            .post_json("/v1/carts", &json!({"channel": "web", "evil": true}))
            .await;
        assert_invalid_field(&reply, "/evil", "unknown_field");

        let cart = app.create_cart("web").await;
        let reply = app
            .add_item(
                &cart,
                &json!({"product_code": "fe", "years": 1, "unit_price": "0.00"}),
            )
            .await;
        assert_invalid_field(&reply, "/unit_price", "unknown_field");
    }
);

both_databases!(
    a_missing_required_field_is_named_by_its_pointer,
    |app| async move {
        let reply = app.post_json("/v1/carts", &json!({})).await;
        assert_invalid_field(&reply, "/channel", "required");

        let cart = app.create_cart("web").await;
        let reply = app.add_item(&cart, &json!({"years": 1})).await;
        assert_invalid_field(&reply, "/product_code", "required");
    }
);

both_databases!(a_value_of_the_wrong_type_is_pointed_at, |app| async move {
    let cart = app.create_cart("web").await;
    for (item, pointer) in [
        (json!({"product_code": "fe", "years": "three"}), "/years"),
        (json!({"product_code": "fe", "years": -1}), "/years"),
        (json!({"product_code": "fe", "years": 2.5}), "/years"),
        (
            json!({"product_code": "spazio-1gb", "quantity": true}),
            "/quantity",
        ),
        (json!({"product_code": 7}), "/product_code"),
        (
            json!({"product_code": "incassi-pagamenti", "base_item_id": "not-a-uuid"}),
            "/base_item_id",
        ),
        (
            json!({"product_code": "incassi-pagamenti", "extend_base": "yes"}),
            "/extend_base",
        ),
    ] {
        let reply = app.add_item(&cart, &item).await;
        assert_invalid_field(&reply, pointer, "invalid_type");
    }
    assert_eq!(app.get_cart(&cart).await.body["items"], json!([]));
});

both_databases!(
    a_channel_of_the_wrong_type_is_pointed_at,
    |app| async move {
        for channel in [
            json!(5),
            json!(true),
            json!(null),
            json!({}),
            json!(["web"]),
        ] {
            let reply = app
                .post_json("/v1/carts", &json!({ "channel": channel }))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "channel {channel}: {}",
                reply.text
            );
            assert_eq!(
                reply.body["errors"][0]["pointer"], "/channel",
                "channel {channel}: {}",
                reply.text
            );
        }
    }
);

both_databases!(an_unknown_sales_channel_is_refused, |app| async move {
    for channel in ["fax", "WEB", "android-app", ""] {
        let reply = app
            .post_json("/v1/carts", &json!({ "channel": channel }))
            .await;
        assert_invalid_field(&reply, "/channel", "invalid_value");
    }
});

both_databases!(
    a_body_over_64_kib_is_a_413_while_one_under_it_is_read,
    |app| async move {
        // The same valid document, padded with JSON whitespace: only its size differs.
        let padded = |size: usize| format!("{{\"channel\": \"web\"{}}}", " ".repeat(size));
        let under = post_carts_raw(app, Some("application/json"), padded(60 * 1024)).await;
        assert_eq!(under.status, StatusCode::CREATED, "{}", under.text);
        assert_eq!(under.body["channel"], "web");

        let over = post_carts_raw(app, Some("application/json"), padded(100 * 1000)).await;
        let body = assert_rfc9457(&over, 413, "payload_too_large");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("65536")),
            "{}",
            over.text
        );
    }
);

both_databases!(a_body_that_is_not_json_is_a_415, |app| async move {
    let plain = post_carts_raw(app, Some("text/plain"), r#"{"channel": "web"}"#).await;
    let body = assert_rfc9457(&plain, 415, "unsupported_media_type");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("text/plain")),
        "{}",
        plain.text
    );
    let form = post_carts_raw(
        app,
        Some("application/x-www-form-urlencoded"),
        "channel=web",
    )
    .await;
    assert_rfc9457(&form, 415, "unsupported_media_type");
    let none = post_carts_raw(app, None, r#"{"channel": "web"}"#).await;
    assert_rfc9457(&none, 415, "unsupported_media_type");

    // JSON with parameters is JSON.
    let charset = post_carts_raw(
        app,
        Some("application/json; charset=utf-8"),
        r#"{"channel": "web"}"#,
    )
    .await;
    assert_eq!(charset.status, StatusCode::CREATED, "{}", charset.text);
});

both_databases!(head_is_answered_wherever_get_is, |app| async move {
    for path in [
        "/v1/catalog/products",
        "/v1/catalog/products/fe",
        "/health/live",
        "/openapi.json",
    ] {
        let get = app.get(path).await;
        let head = app.send(app.request(Method::HEAD, path)).await;
        assert_eq!(head.status, StatusCode::OK, "HEAD {path}");
        assert!(head.text.is_empty(), "HEAD {path} has a body");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {path}"
        );
    }
});

both_databases!(
    an_unknown_docs_path_is_a_route_not_found_problem,
    |app| async move {
        let reply = app.get("/docs/nope.js").await;
        assert_rfc9457(&reply, 404, "route_not_found");
    }
);

/// An HTTP/1.1 answer read off a raw connection.
struct RawAnswer {
    status: u16,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Value,
    /// The server closed the connection after answering.
    closed: bool,
    /// From the end of the request head to the end of the answer.
    took: std::time::Duration,
}

/// Writes `head`, then drips `body` one byte every `gap` (as a slow or
/// malicious client would), while reading the answer until the server
/// closes the connection or `wait` passes.
async fn drip(
    app: &TestApp,
    head: String,
    body: Vec<u8>,
    gap: std::time::Duration,
    wait: std::time::Duration,
) -> RawAnswer {
    use std::io::{Read, Write};
    let address = app.address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address)
            .unwrap_or_else(|e| panic!("connecting to {address}: {e}"));
        stream
            .write_all(head.as_bytes())
            .unwrap_or_else(|e| panic!("writing the head: {e}"));
        let started = std::time::Instant::now();
        let mut writer = stream
            .try_clone()
            .unwrap_or_else(|e| panic!("cloning the stream: {e}"));
        std::thread::spawn(move || {
            for byte in body {
                std::thread::sleep(gap);
                if writer.write_all(&[byte]).is_err() {
                    break;
                }
            }
        });
        stream
            .set_read_timeout(Some(wait))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let closed = loop {
            match stream.read(&mut buffer) {
                Ok(0) => break true,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
                // Closed with the rest of the drip unread: a reset.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&received).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete answer within {wait:?}: {text:?}"));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {text:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        RawAnswer {
            status,
            headers,
            body: serde_json::from_str(body).unwrap_or(Value::Null),
            closed,
            took,
        }
    })
    .await
    .unwrap_or_else(|e| panic!("the raw client failed: {e}"))
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

both_databases!(
    a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes,
    [("ATTIVA_BODY_TIMEOUT_SECS", "1")],
    |app| async move {
        use std::time::Duration;
        // Declares 60,000 bytes and sends one every 100 ms: it would take
        // 100 minutes.
        let head = "POST /v1/carts HTTP/1.1\r\nHost: attiva\r\nContent-Type: application/json\r\n\
                    Content-Length: 60000\r\n\r\n"
            .to_owned();
        let answer = drip(
            app,
            head,
            vec![b' '; 60_000],
            Duration::from_millis(100),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(answer.status, 408, "{:?}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(answer.header("connection"), Some("close"));
        assert_eq!(answer.body["code"], "request_timeout", "{}", answer.body);
        assert_eq!(answer.body["status"], 408, "{}", answer.body);
        assert_eq!(answer.body["title"], "Request Timeout", "{}", answer.body);
        assert_eq!(
            answer.body["type"], "urn:attiva:problem:request_timeout",
            "{}",
            answer.body
        );
        assert_eq!(
            answer.body["detail"], "the request body did not arrive within 1 s",
            "{}",
            answer.body
        );
        assert!(answer.closed, "the connection was left open");
        assert!(
            answer.took < Duration::from_secs(5),
            "answered after {:?}",
            answer.took
        );

        // Control: the same drip, short enough to arrive in time, is served.
        let body = br#"{"channel":"web"}"#.to_vec();
        let head = format!(
            "POST /v1/carts HTTP/1.1\r\nHost: attiva\r\nContent-Type: application/json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let answer = drip(
            app,
            head,
            body,
            Duration::from_millis(20),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["channel"], "web", "{}", answer.body);
    }
);

/// Asserts a problem says nothing of the parsers behind it.
fn assert_own_words(reply: &Reply, what: &str) {
    let text = reply.text.to_lowercase();
    for word in [
        "deserialize",
        "parsing",
        "invalid digit",
        "invalid character",
        "`",
    ] {
        assert!(
            !text.contains(word),
            "{what}: the parser speaks ({word}): {}",
            reply.text
        );
    }
}

both_databases!(
    a_bad_path_or_query_parameter_is_named_in_our_words,
    |app| async move {
        use crate::identity::customer_session;
        let (_, customer, _) = customer_session(app, "params@example.com", "01234567897").await;
        let cart = app.create_cart("web").await;

        // Paths that cannot name a resource: 404, naming the parameter.
        for (method, path, detail) in [
            (
                Method::GET,
                "/v1/orders/not-a-uuid".to_owned(),
                "no such resource: id must be a UUID",
            ),
            (
                Method::POST,
                "/v1/orders/12345/cancel".to_owned(),
                "no such resource: id must be a UUID",
            ),
            (
                Method::GET,
                "/v1/services/not-a-uuid".to_owned(),
                "no such resource: id must be a UUID",
            ),
            (
                Method::GET,
                "/v1/carts/not-a-uuid".to_owned(),
                "no such resource: id must be a UUID",
            ),
            (
                Method::DELETE,
                format!("/v1/carts/{}/items/not-a-uuid", cart.0),
                "no such resource: item_id must be a UUID",
            ),
        ] {
            let reply = app
                .send(
                    app.request(method.clone(), &path)
                        .bearer_auth(&customer)
                        .header("x-cart-token", &cart.1),
                )
                .await;
            let what = format!("{method} {path}");
            let body = assert_rfc9457(&reply, 404, "not_found");
            assert_eq!(body["detail"], detail, "{what}: {}", reply.text);
            assert_own_words(&reply, &what);
        }

        // Query parameters: 422 with the parameter's pointer, as the
        // handlers' own checks give (`limit=0` is `/limit` `out_of_range`).
        for (query, pointer, code, detail) in [
            (
                "limit=-1",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "limit=abc",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "limit=1.5&cursor=x",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "limit=2&limit=3",
                "/limit",
                "duplicate",
                "limit must be given once",
            ),
            (
                "colour=red",
                "/colour",
                "unknown_field",
                "colour is not a parameter of this operation",
            ),
        ] {
            let path = format!("/v1/orders?{query}");
            let reply = app.get_as(&path, &customer).await;
            let body = assert_rfc9457(&reply, 422, "validation_failed");
            assert_eq!(
                body["errors"],
                json!([{"pointer": pointer, "code": code, "detail": detail}]),
                "{path}: {}",
                reply.text
            );
            assert_own_words(&reply, &path);
        }
        let reply = app.get_as("/v1/orders?limit=0", &customer).await;
        assert_invalid_field(&reply, "/limit", "out_of_range");
        let reply = app.get_as("/v1/orders?limit=2", &customer).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
);
