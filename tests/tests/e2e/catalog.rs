//! The catalog as a shopper (web shop, Android app, partner) reads it:
//! every product in file order with its prices by purchase context, which
//! bases an add-on hangs on, what it requires, its bounds, and conditional
//! requests (ETag / If-None-Match) so that clients can cache it.

use crate::errors::assert_rfc9457;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{Reply, TestApp, both_databases, repo_root};

/// The product codes in the order of `catalog/catalog.toml`.
const FILE_ORDER: [&str; 6] = [
    "fe",
    "fe-solo-ricezione",
    "incassi-pagamenti",
    "documenti",
    "woocommerce",
    "spazio-1gb",
];

const ADDONS: [&str; 4] = [
    "incassi-pagamenti",
    "documenti",
    "woocommerce",
    "spazio-1gb",
];

/// `GET /v1/catalog/products`, asserting a 200 JSON answer.
async fn catalog(app: &TestApp) -> Reply {
    let reply = app.get("/v1/catalog/products").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply
}

/// The listed product with this code.
fn product<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["code"] == code))
        .unwrap_or_else(|| panic!("`{code}` is not in the catalog: {list}"))
}

/// A product's prices as (context, amount) pairs, checking currency and period.
fn prices(product: &Value) -> Vec<(String, String)> {
    let prices = product["prices"]
        .as_array()
        .unwrap_or_else(|| panic!("no prices: {product}"));
    prices
        .iter()
        .map(|price| {
            assert_eq!(price["currency"], "EUR", "{price}");
            assert_eq!(price["per"], "year", "{price}");
            (
                price["context"].as_str().unwrap_or_default().to_owned(),
                price["amount"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn etag_of(reply: &Reply) -> String {
    let etag = reply
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag on {}", reply.text))
        .to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "not a strong ETag: {etag}"
    );
    etag
}

both_databases!(
    shoppers_see_the_six_products_in_catalog_file_order,
    |app| async move {
        let reply = catalog(app).await;
        let codes: Vec<&str> = reply.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {}", reply.text))
            .iter()
            .map(|p| p["code"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(codes, FILE_ORDER);

        // The order is the file's, not an alphabetical or hard-coded one.
        let file = std::fs::read_to_string(repo_root().join("catalog/catalog.toml"))
            .unwrap_or_else(|e| panic!("reading catalog.toml: {e}"));
        let file: toml::Value =
            toml::from_str(&file).unwrap_or_else(|e| panic!("catalog.toml: {e}"));
        let file_codes: Vec<&str> = file
            .get("products")
            .and_then(toml::Value::as_array)
            .map(|products| products.iter().filter_map(|p| p["code"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(codes, file_codes);

        assert_eq!(reply.body["effective_date"], "2026-01-01");
        assert_eq!(reply.body["next_cursor"], Value::Null);
        for code in FILE_ORDER {
            let p = product(&reply.body, code);
            let expected = if ADDONS.contains(&code) {
                "addon"
            } else {
                "base"
            };
            assert_eq!(p["category"], expected, "{code}");
            assert_eq!(p["vat_rate"], "22", "{code}");
            assert!(
                p["name"].as_str().is_some_and(|n| !n.is_empty()),
                "{code}: {p}"
            );
            assert_eq!(p["co_terminated"], ADDONS.contains(&code), "{code}");
        }
        assert_eq!(
            product(&reply.body, "fe")["name"],
            "Fatturazione Elettronica"
        );
        assert_eq!(product(&reply.body, "fe")["requires_partita_iva"], true);
        assert_eq!(
            product(&reply.body, "fe-solo-ricezione")["requires_partita_iva"],
            false
        );
    }
);

both_databases!(
    incassi_pagamenti_is_free_with_a_new_fe_and_paid_on_an_existing_one,
    |app| async move {
        let reply = catalog(app).await;
        let list = &reply.body;
        assert_eq!(prices(product(list, "fe")), pairs(&[("new_base", "25.00")]));
        assert_eq!(
            prices(product(list, "fe-solo-ricezione")),
            pairs(&[("new_base", "10.00")])
        );
        assert_eq!(
            prices(product(list, "incassi-pagamenti")),
            pairs(&[("with_new_base", "0.00"), ("on_existing_base", "29.00")])
        );
        assert_eq!(
            prices(product(list, "documenti")),
            pairs(&[("with_new_base", "15.00"), ("on_existing_base", "15.00")])
        );
        assert_eq!(
            prices(product(list, "woocommerce")),
            pairs(&[("with_new_base", "20.00"), ("on_existing_base", "20.00")])
        );
        assert_eq!(
            prices(product(list, "spazio-1gb")),
            pairs(&[("with_new_base", "5.00"), ("on_existing_base", "5.00")])
        );
    }
);

both_databases!(
    fe_solo_ricezione_offers_no_add_ons_and_woocommerce_needs_documenti,
    |app| async move {
        let reply = catalog(app).await;
        let list = &reply.body;
        for code in ADDONS {
            let available_on = strings(&product(list, code)["available_on"]);
            assert_eq!(available_on, ["fe"], "{code}");
            assert!(
                !available_on.iter().any(|b| b == "fe-solo-ricezione"),
                "{code}"
            );
        }
        for base in ["fe", "fe-solo-ricezione"] {
            assert!(
                strings(&product(list, base)["available_on"]).is_empty(),
                "{base}"
            );
            assert!(
                strings(&product(list, base)["requires"]).is_empty(),
                "{base}"
            );
        }
        assert_eq!(
            strings(&product(list, "woocommerce")["requires"]),
            ["documenti"]
        );
        for code in ["incassi-pagamenti", "documenti", "spazio-1gb"] {
            assert!(
                strings(&product(list, code)["requires"]).is_empty(),
                "{code}"
            );
        }
    }
);

both_databases!(
    fe_sells_one_to_ten_years_and_extra_space_one_to_fifty_gigabytes,
    |app| async move {
        let reply = catalog(app).await;
        let list = &reply.body;
        let one = json!({"min": 1, "max": 1});
        for base in ["fe", "fe-solo-ricezione"] {
            assert_eq!(
                product(list, base)["bounds"]["years"],
                json!({"min": 1, "max": 10}),
                "{base}"
            );
            assert_eq!(product(list, base)["bounds"]["quantity"], one, "{base}");
        }
        assert_eq!(
            product(list, "spazio-1gb")["bounds"]["quantity"],
            json!({"min": 1, "max": 50})
        );
        for addon in ADDONS {
            // Add-ons follow their base's years.
            assert_eq!(product(list, addon)["bounds"]["years"], one, "{addon}");
        }
        for addon in ["incassi-pagamenti", "documenti", "woocommerce"] {
            assert_eq!(product(list, addon)["bounds"]["quantity"], one, "{addon}");
        }
    }
);

both_databases!(
    a_product_page_shows_the_same_product_as_the_list,
    |app| async move {
        let list = catalog(app).await;
        for code in FILE_ORDER {
            let reply = app.get(&format!("/v1/catalog/products/{code}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{code}: {}", reply.text);
            assert_eq!(reply.header("content-type"), Some("application/json"));
            assert_eq!(&reply.body, product(&list.body, code));
            assert_eq!(reply.header("cache-control"), Some("public, max-age=60"));
            assert_ne!(
                etag_of(&reply),
                etag_of(&list),
                "{code} shares the list's ETag"
            );
        }
        let ip = app.get("/v1/catalog/products/incassi-pagamenti").await;
        assert_eq!(ip.body["code"], "incassi-pagamenti");
        assert_eq!(ip.body["name"], "Incassi e pagamenti");
        assert_eq!(ip.body["category"], "addon");
    }
);

both_databases!(
    an_unknown_product_code_is_a_product_not_found_problem,
    |app| async move {
        let reply = app.get("/v1/catalog/products/fe-premium").await;
        let body = assert_rfc9457(&reply, 404, "product_not_found");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("fe-premium")),
            "{}",
            reply.text
        );
        assert!(reply.header("etag").is_none(), "a problem has no ETag");
    }
);

both_databases!(
    an_unchanged_catalog_is_revalidated_with_304_and_no_body,
    |app| async move {
        let first = catalog(app).await;
        let etag = etag_of(&first);
        assert_eq!(first.header("cache-control"), Some("public, max-age=60"));

        let again = app
            .send(
                app.request(Method::GET, "/v1/catalog/products")
                    .header("if-none-match", &etag),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{}", again.text);
        assert!(again.text.is_empty(), "a 304 has no body: {:?}", again.text);
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        assert_eq!(again.header("cache-control"), Some("public, max-age=60"));

        // The same for one product, with its own ETag; the list's does not fit it.
        let fe = app.get("/v1/catalog/products/fe").await;
        let fe_etag = etag_of(&fe);
        let fe_again = app
            .send(
                app.request(Method::GET, "/v1/catalog/products/fe")
                    .header("if-none-match", &fe_etag),
            )
            .await;
        assert_eq!(
            fe_again.status,
            StatusCode::NOT_MODIFIED,
            "{}",
            fe_again.text
        );
        assert!(fe_again.text.is_empty(), "{:?}", fe_again.text);
        assert_eq!(fe_again.header("etag"), Some(fe_etag.as_str()));
        let fe_with_list_etag = app
            .send(
                app.request(Method::GET, "/v1/catalog/products/fe")
                    .header("if-none-match", &etag),
            )
            .await;
        assert_eq!(fe_with_list_etag.status, StatusCode::OK);
        assert_eq!(fe_with_list_etag.body, fe.body);

        // One of several validators matching is enough.
        let listed = app
            .send(
                app.request(Method::GET, "/v1/catalog/products")
                    .header("if-none-match", format!("\"stale\", {etag}")),
            )
            .await;
        assert_eq!(listed.status, StatusCode::NOT_MODIFIED, "{}", listed.text);
    }
);

both_databases!(
    a_stale_etag_gets_the_whole_catalog_again,
    |app| async move {
        let first = catalog(app).await;
        let etag = etag_of(&first);
        let stale = "\"0123456789abcdef0123456789abcdef\"";
        assert_ne!(etag, stale);
        let reply = app
            .send(
                app.request(Method::GET, "/v1/catalog/products")
                    .header("if-none-match", stale),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body, first.body);
        assert_eq!(reply.header("etag"), Some(etag.as_str()));
        assert_eq!(reply.header("cache-control"), Some("public, max-age=60"));
    }
);
