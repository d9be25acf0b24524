//! Carts as a buyer fills them: started from any sales channel, priced on
//! every read (IVA per line, totals the sum of the lines), every broken
//! eligibility rule shown as a violation on the offending item, bad input
//! refused with a pointer to the field, and the cart token guarding it.

use crate::errors::{assert_invalid_field, assert_rfc9457};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use tests::{Reply, TestApp, both_databases};

type Cart = (String, String);

fn items(cart: &Value) -> &[Value] {
    cart["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no items in {cart}"))
}

fn item_ids(cart: &Value) -> Vec<String> {
    items(cart)
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The violations of a cart as (code, item_id) pairs.
fn violations(cart: &Value) -> Vec<(String, String)> {
    cart["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("no violations list in {cart}"))
        .iter()
        .map(|v| {
            assert!(
                v["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "violation without detail: {v}"
            );
            (
                v["code"].as_str().unwrap_or_default().to_owned(),
                v["item_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn violation(code: &str, item_id: &str) -> (String, String) {
    (code.to_owned(), item_id.to_owned())
}

/// The priced lines of one cart item.
fn lines_of<'a>(cart: &'a Value, item_id: &str) -> Vec<&'a Value> {
    cart["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines in {cart}"))
        .iter()
        .filter(|l| l["item_id"] == item_id)
        .collect()
}

/// The one priced line of an item.
fn line_of<'a>(cart: &'a Value, item_id: &str) -> &'a Value {
    match lines_of(cart, item_id).as_slice() {
        [line] => line,
        other => panic!("item {item_id} has {} priced lines: {cart}", other.len()),
    }
}

/// Asserts a line's (net, vat, total).
fn assert_amounts(line: &Value, net: &str, vat: &str, total: &str) {
    assert_eq!(
        (&line["net"], &line["vat"], &line["total"]),
        (&json!(net), &json!(vat), &json!(total)),
        "{line}"
    );
    assert_eq!(line["vat_rate"], "22", "{line}");
}

/// Asserts the cart's totals, and that they are the sums of its lines.
fn assert_totals(cart: &Value, net: &str, vat: &str, total: &str) {
    let totals = &cart["totals"];
    assert_eq!(
        (
            &totals["net"],
            &totals["vat"],
            &totals["total"],
            &totals["currency"]
        ),
        (&json!(net), &json!(vat), &json!(total), &json!("EUR")),
        "{cart}"
    );
    let cents = |amount: &Value| -> i64 {
        let text = amount
            .as_str()
            .unwrap_or_else(|| panic!("not a money string: {amount}"));
        let (euro, cents) = text
            .split_once('.')
            .unwrap_or_else(|| panic!("no decimals in {text}"));
        assert_eq!(cents.len(), 2, "{text}");
        let euro: i64 = euro.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let cents: i64 = cents.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        euro * 100 + cents
    };
    let lines = cart["lines"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for field in ["net", "vat", "total"] {
        let sum: i64 = lines.iter().map(|l| cents(&l[field])).sum();
        assert_eq!(
            sum,
            cents(&totals[field]),
            "totals.{field} is not the sum of the lines: {cart}"
        );
    }
    for line in lines {
        assert_eq!(
            cents(&line["net"]) + cents(&line["vat"]),
            cents(&line["total"]),
            "{line}"
        );
    }
}

/// Adds an item that must be accepted; returns the cart and the new item's id.
async fn added(app: &TestApp, cart: &Cart, item: Value) -> (Value, String) {
    let reply = app.add_item(cart, &item).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "adding {item}: {}",
        reply.text
    );
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/carts/{}", cart.0).as_str()),
        "{}",
        reply.text
    );
    let last = items(&reply.body)
        .last()
        .unwrap_or_else(|| panic!("no item after adding {item}: {}", reply.text));
    assert_eq!(last["product_code"], item["product_code"], "{}", reply.text);
    let id = last["id"].as_str().unwrap_or_default().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "item id {id:?}");
    (reply.body, id)
}

/// Reads a cart that must be readable.
async fn read(app: &TestApp, cart: &Cart) -> Value {
    let reply = app.get_cart(cart).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// `DELETE /v1/carts/{id}/items/{item_id}` with the cart's token.
async fn remove(app: &TestApp, cart: &Cart, item_id: &str) -> Reply {
    app.send(
        app.request(
            Method::DELETE,
            &format!("/v1/carts/{}/items/{item_id}", cart.0),
        )
        .header("x-cart-token", &cart.1),
    )
    .await
}

both_databases!(
    a_cart_can_be_started_from_every_sales_channel,
    |app| async move {
        let mut tokens = HashSet::new();
        for channel in ["web", "customer_area", "panel", "android_app"] {
            let reply = app
                .post_json("/v1/carts", &json!({ "channel": channel }))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "{channel}: {}",
                reply.text
            );
            let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
            assert!(
                uuid::Uuid::parse_str(&id).is_ok(),
                "{channel}: {}",
                reply.text
            );
            assert_eq!(
                reply.header("location"),
                Some(format!("/v1/carts/{id}").as_str())
            );
            let token = reply.body["token"].as_str().unwrap_or_default().to_owned();
            assert!(token.len() >= 32, "{channel}: a weak token {token:?}");
            assert!(tokens.insert(token.clone()), "token reused");
            assert_eq!(reply.body["channel"], channel);
            assert_eq!(reply.body["status"], "open");
            assert_eq!(reply.body["items"], json!([]));
            assert_eq!(reply.body["lines"], json!([]));
            assert_eq!(reply.body["violations"], json!([]));
            assert_eq!(
                reply.body["checkout_allowed"], false,
                "an empty cart cannot be checked out"
            );
            assert_totals(&reply.body, "0.00", "0.00", "0.00");

            // The token is shown once: reading the cart does not show it again.
            let cart = read(app, &(id.clone(), token)).await;
            assert_eq!(cart["id"], id.as_str());
            assert_eq!(cart["channel"], channel);
            assert!(
                cart.get("token").is_none(),
                "the token leaks on GET: {cart}"
            );
            assert_eq!(cart["created_at"], reply.body["created_at"]);
        }
    }
);

both_databases!(
    new_customer_gets_incassi_pagamenti_free_with_fe,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (after_fe, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        assert!(after_fe.get("token").is_none(), "{after_fe}");
        assert_eq!(after_fe["checkout_allowed"], true, "{after_fe}");
        let (body, ip) = added(
            app,
            &cart,
            json!({"product_code": "incassi-pagamenti", "base_item_id": fe}),
        )
        .await;

        assert_eq!(items(&body).len(), 2, "{body}");
        let fe_line = line_of(&body, &fe);
        assert_eq!(fe_line["product_code"], "fe");
        assert_eq!(fe_line["context"], "base");
        assert_eq!(fe_line["unit_price"], "25.00");
        assert_eq!(fe_line["years"], 1);
        assert_eq!(fe_line["quantity"], 1);
        assert_amounts(fe_line, "25.00", "5.50", "30.50");

        let ip_line = line_of(&body, &ip);
        assert_eq!(ip_line["product_code"], "incassi-pagamenti");
        assert_eq!(ip_line["context"], "with_new_base");
        assert_eq!(ip_line["unit_price"], "0.00");
        assert_amounts(ip_line, "0.00", "0.00", "0.00");

        assert_totals(&body, "25.00", "5.50", "30.50");
        assert_eq!(violations(&body), vec![]);
        assert_eq!(body["checkout_allowed"], true);

        // A later read shows the same cart.
        let again = read(app, &cart).await;
        assert_eq!(again["lines"], body["lines"]);
        assert_eq!(again["totals"], body["totals"]);
        assert_eq!(again["checkout_allowed"], true);
        assert_eq!(items(&again)[1]["base_item_id"], fe.as_str());
    }
);

both_databases!(
    three_years_of_fe_cost_three_times_the_yearly_price,
    |app| async move {
        let cart = app.create_cart("customer_area").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 3})).await;
        let (_, ip) = added(
            app,
            &cart,
            json!({"product_code": "incassi-pagamenti", "base_item_id": fe}),
        )
        .await;
        let (body, docs) = added(
            app,
            &cart,
            json!({"product_code": "documenti", "base_item_id": fe}),
        )
        .await;

        let fe_line = line_of(&body, &fe);
        assert_eq!(fe_line["years"], 3);
        assert_amounts(fe_line, "75.00", "16.50", "91.50");
        // Add-ons bought with a new base follow its years.
        assert_amounts(line_of(&body, &ip), "0.00", "0.00", "0.00");
        let docs_line = line_of(&body, &docs);
        assert_eq!(docs_line["years"], 3);
        assert_eq!(docs_line["context"], "with_new_base");
        assert_amounts(docs_line, "45.00", "9.90", "54.90");
        assert_totals(&body, "120.00", "26.40", "146.40");
        assert_eq!(violations(&body), vec![]);
        assert_eq!(body["checkout_allowed"], true);
    }
);

both_databases!(
    extra_space_is_priced_per_gigabyte_and_year,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 2})).await;
        let (body, space) = added(
            app,
            &cart,
            json!({"product_code": "spazio-1gb", "quantity": 50, "base_item_id": fe}),
        )
        .await;
        let line = line_of(&body, &space);
        assert_eq!(line["quantity"], 50);
        assert_eq!(line["unit_price"], "5.00");
        // 5.00 x 50 GB x 2 years.
        assert_amounts(line, "500.00", "110.00", "610.00");
        assert_totals(&body, "550.00", "121.00", "671.00");
        assert_eq!(violations(&body), vec![]);
    }
);

both_databases!(
    an_add_on_alone_is_accepted_but_blocks_checkout,
    |app| async move {
        let cart = app.create_cart("android_app").await;
        let (body, ip) = added(app, &cart, json!({"product_code": "incassi-pagamenti"})).await;
        assert_eq!(
            violations(&body),
            vec![violation("addon_requires_base", &ip)]
        );
        assert_eq!(body["checkout_allowed"], false);
        // Without a new base it cannot be the free bundle price.
        let line = line_of(&body, &ip);
        assert_eq!(line["context"], "on_existing_base");
        assert_amounts(line, "29.00", "6.38", "35.38");

        let again = read(app, &cart).await;
        assert_eq!(
            violations(&again),
            vec![violation("addon_requires_base", &ip)]
        );
        assert_eq!(again["checkout_allowed"], false);
    }
);

both_databases!(
    no_add_on_can_be_bought_on_fe_solo_ricezione,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, base) = added(
            app,
            &cart,
            json!({"product_code": "fe-solo-ricezione", "years": 1}),
        )
        .await;
        let (body, ip) = added(
            app,
            &cart,
            json!({"product_code": "incassi-pagamenti", "base_item_id": base}),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("addon_not_available_on_base", &ip)]
        );
        assert_eq!(body["checkout_allowed"], false);
        assert_amounts(line_of(&body, &base), "10.00", "2.20", "12.20");
    }
);

both_databases!(
    woocommerce_needs_documenti_on_the_same_fe,
    |app| async move {
        let cart = app.create_cart("panel").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (body, woo) = added(
            app,
            &cart,
            json!({"product_code": "woocommerce", "base_item_id": fe}),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("addon_requires_addon", &woo)]
        );
        assert_eq!(body["checkout_allowed"], false);

        let (body, _) = added(
            app,
            &cart,
            json!({"product_code": "documenti", "base_item_id": fe}),
        )
        .await;
        assert_eq!(violations(&body), vec![]);
        assert_eq!(body["checkout_allowed"], true);
        // 25.00 + 20.00 + 15.00 net.
        assert_totals(&body, "60.00", "13.20", "73.20");
    }
);

both_databases!(
    documenti_on_another_fe_does_not_satisfy_woocommerce,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, first) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (_, second) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (_, woo) = added(
            app,
            &cart,
            json!({"product_code": "woocommerce", "base_item_id": first}),
        )
        .await;
        let (body, _) = added(
            app,
            &cart,
            json!({"product_code": "documenti", "base_item_id": second}),
        )
        .await;
        let found = violations(&body);
        assert!(
            found.contains(&violation("addon_requires_addon", &woo)),
            "{body}"
        );
    }
);

both_databases!(
    more_than_ten_years_of_fe_are_refused_at_the_years_field,
    |app| async move {
        let cart = app.create_cart("web").await;
        for years in [11, 0, 100] {
            let reply = app
                .add_item(&cart, &json!({"product_code": "fe", "years": years}))
                .await;
            assert_invalid_field(&reply, "/years", "years_out_of_bounds");
            assert!(
                reply.body["errors"][0]["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("10")),
                "{}",
                reply.text
            );
        }
        let (body, _) = added(app, &cart, json!({"product_code": "fe", "years": 10})).await;
        assert_eq!(
            items(&body).len(),
            1,
            "refused items must not be stored: {body}"
        );
        assert_totals(&body, "250.00", "55.00", "305.00");
    }
);

both_databases!(
    more_than_fifty_gigabytes_are_refused_at_the_quantity_field,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        for quantity in [51, 0, 1000] {
            let reply = app
            .add_item(
                &cart,
                &json!({"product_code": "spazio-1gb", "quantity": quantity, "base_item_id": fe}),
            )
            .await;
            assert_invalid_field(&reply, "/quantity", "quantity_out_of_bounds");
            assert!(
                reply.body["errors"][0]["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("50")),
                "{}",
                reply.text
            );
        }
        assert_eq!(
            items(&read(app, &cart).await).len(),
            1,
            "refused items must not be stored"
        );
    }
);

both_databases!(
    a_module_sold_as_one_unit_flags_a_larger_quantity,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        // Within the catalog's largest bound, so accepted, but documenti is 1..1.
        let (body, docs) = added(
            app,
            &cart,
            json!({"product_code": "documenti", "quantity": 2, "base_item_id": fe}),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("quantity_out_of_bounds", &docs)]
        );
        assert_eq!(body["checkout_allowed"], false);
    }
);

both_databases!(
    add_ons_follow_their_bases_years_and_bases_hang_on_nothing,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 2})).await;

        // Years beyond anything the catalog sells are refused outright.
        let reply = app
            .add_item(
                &cart,
                &json!({"product_code": "incassi-pagamenti", "years": 11, "base_item_id": fe}),
            )
            .await;
        assert_invalid_field(&reply, "/years", "years_out_of_bounds");

        // Years of its own on an add-on are flagged: it follows its base.
        let (body, ip) = added(
            app,
            &cart,
            json!({"product_code": "incassi-pagamenti", "years": 3, "base_item_id": fe}),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("years_out_of_bounds", &ip)]
        );
        assert_eq!(body["checkout_allowed"], false);
        assert_eq!(
            line_of(&body, &ip)["years"],
            2,
            "priced for the base's years: {body}"
        );
        let reply = remove(app, &cart, &ip).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

        // A base that names a base of its own is flagged.
        let (body, nested) = added(
            app,
            &cart,
            json!({"product_code": "fe-solo-ricezione", "years": 1, "base_item_id": fe}),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("base_cannot_attach", &nested)]
        );
        assert_eq!(body["checkout_allowed"], false);
    }
);

both_databases!(
    an_unknown_product_is_refused_at_the_product_code,
    |app| async move {
        let cart = app.create_cart("web").await;
        let reply = app
            .add_item(&cart, &json!({"product_code": "fe-premium", "years": 1}))
            .await;
        assert_invalid_field(&reply, "/product_code", "unknown_product");
        assert!(
            reply.body["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("fe-premium")),
            "{}",
            reply.text
        );
        assert_eq!(items(&read(app, &cart).await).len(), 0);
    }
);

both_databases!(
    an_add_on_hanging_on_an_item_of_another_cart_has_no_base,
    |app| async move {
        let other = app.create_cart("web").await;
        let (_, foreign_fe) = added(app, &other, json!({"product_code": "fe", "years": 1})).await;
        let cart = app.create_cart("web").await;
        for base in [foreign_fe, uuid::Uuid::new_v4().to_string()] {
            let (body, ip) = added(
                app,
                &cart,
                json!({"product_code": "incassi-pagamenti", "base_item_id": base}),
            )
            .await;
            assert!(
                violations(&body).contains(&violation("addon_requires_base", &ip)),
                "{body}"
            );
            assert_eq!(body["checkout_allowed"], false);
            // Not bundled with a new FE in this cart: not free.
            assert_eq!(line_of(&body, &ip)["context"], "on_existing_base");
            assert_amounts(line_of(&body, &ip), "29.00", "6.38", "35.38");
        }
        // The other cart is untouched.
        assert_eq!(items(&read(app, &other).await).len(), 1);
    }
);

both_databases!(
    an_add_on_names_either_a_new_base_or_an_owned_one_not_both,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (body, ip) = added(
            app,
            &cart,
            json!({
                "product_code": "incassi-pagamenti",
                "base_item_id": fe,
                "target_service_id": uuid::Uuid::new_v4(),
            }),
        )
        .await;
        assert_eq!(
            violations(&body),
            vec![violation("addon_requires_base", &ip)]
        );
        assert_eq!(body["checkout_allowed"], false);
    }
);

both_databases!(
    an_add_on_for_a_service_the_buyer_does_not_own_is_flagged,
    |app| async move {
        let cart = app.create_cart("customer_area").await;
        let service = uuid::Uuid::new_v4().to_string();
        let (body, ip) = added(
        app,
        &cart,
        json!({"product_code": "incassi-pagamenti", "target_service_id": service, "extend_base": true}),
    )
    .await;
        assert_eq!(
            violations(&body),
            vec![violation("target_service_not_found", &ip)]
        );
        assert_eq!(body["checkout_allowed"], false);
        assert_eq!(items(&body)[0]["target_service_id"], service.as_str());
        assert_eq!(items(&body)[0]["extend_base"], true);
    }
);

both_databases!(a_removed_item_is_no_longer_in_the_cart, |app| async move {
    let cart = app.create_cart("web").await;
    let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
    let (_, docs) = added(
        app,
        &cart,
        json!({"product_code": "documenti", "base_item_id": fe}),
    )
    .await;

    let reply = remove(app, &cart, &docs).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(item_ids(&reply.body), vec![fe.clone()]);
    assert!(lines_of(&reply.body, &docs).is_empty(), "{}", reply.text);
    assert_totals(&reply.body, "25.00", "5.50", "30.50");
    assert_eq!(reply.body["checkout_allowed"], true);

    let again = read(app, &cart).await;
    assert_eq!(item_ids(&again), vec![fe]);
    assert_totals(&again, "25.00", "5.50", "30.50");

    // Removing it again: it is gone.
    let reply = remove(app, &cart, &docs).await;
    assert_rfc9457(&reply, 404, "cart_item_not_found");
});

both_databases!(
    removing_the_base_leaves_its_add_on_requiring_a_base,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (_, ip) = added(
            app,
            &cart,
            json!({"product_code": "incassi-pagamenti", "base_item_id": fe}),
        )
        .await;

        let reply = remove(app, &cart, &fe).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(item_ids(&reply.body), vec![ip.clone()]);
        assert_eq!(
            violations(&reply.body),
            vec![violation("addon_requires_base", &ip)]
        );
        assert_eq!(reply.body["checkout_allowed"], false);
        // No longer bundled with a new FE: no longer free.
        assert_eq!(line_of(&reply.body, &ip)["context"], "on_existing_base");

        let again = read(app, &cart).await;
        assert_eq!(
            violations(&again),
            vec![violation("addon_requires_base", &ip)]
        );
    }
);

both_databases!(
    removing_an_item_that_is_not_there_is_a_404,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let reply = remove(app, &cart, &uuid::Uuid::new_v4().to_string()).await;
        assert_rfc9457(&reply, 404, "cart_item_not_found");

        // An item of another cart cannot be removed through this one.
        let other = app.create_cart("web").await;
        let reply = remove(app, &other, &fe).await;
        assert_rfc9457(&reply, 404, "cart_item_not_found");
        assert_eq!(item_ids(&read(app, &cart).await), vec![fe]);
    }
);

both_databases!(
    a_cart_is_closed_to_callers_without_its_token,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let base = format!("/v1/carts/{}", cart.0);
        let requests = [
            app.request(Method::GET, &base),
            app.request(Method::POST, &format!("{base}/items"))
                .json(&json!({"product_code": "documenti", "base_item_id": fe})),
            app.request(Method::DELETE, &format!("{base}/items/{fe}")),
            app.request(Method::GET, &base).header("x-cart-token", ""),
        ];
        for request in requests {
            let reply = app.send(request).await;
            assert_rfc9457(&reply, 401, "cart_token_required");
            assert_eq!(reply.header("www-authenticate"), Some("X-Cart-Token"));
            assert!(
                !reply.text.contains(&fe),
                "a refused call shows the cart: {}",
                reply.text
            );
        }
        assert_eq!(item_ids(&read(app, &cart).await), vec![fe]);
    }
);

both_databases!(
    another_carts_token_does_not_open_this_cart,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let intruder = app.create_cart("web").await;
        let base = format!("/v1/carts/{}", cart.0);
        for token in [intruder.1.as_str(), "0000", &cart.1.to_uppercase()] {
            let requests = [
                app.request(Method::GET, &base),
                app.request(Method::POST, &format!("{base}/items"))
                    .json(&json!({"product_code": "documenti", "base_item_id": fe})),
                app.request(Method::DELETE, &format!("{base}/items/{fe}")),
            ];
            for request in requests {
                let reply = app.send(request.header("x-cart-token", token)).await;
                assert_rfc9457(&reply, 403, "cart_token_invalid");
                assert!(!reply.text.contains(&fe), "{}", reply.text);
            }
        }
        assert_eq!(item_ids(&read(app, &cart).await), vec![fe]);
    }
);

both_databases!(an_unknown_cart_is_a_404, |app| async move {
    let (_, token) = app.create_cart("web").await;
    let ghost = (uuid::Uuid::new_v4().to_string(), token);
    let reply = app.get_cart(&ghost).await;
    assert_rfc9457(&reply, 404, "cart_not_found");
    let reply = app
        .add_item(&ghost, &json!({"product_code": "fe", "years": 1}))
        .await;
    assert_rfc9457(&reply, 404, "cart_not_found");
    let reply = remove(app, &ghost, &uuid::Uuid::new_v4().to_string()).await;
    assert_rfc9457(&reply, 404, "cart_not_found");
});

both_databases!(a_cart_id_that_is_not_a_uuid_is_a_404, |app| async move {
    let cart = app.create_cart("web").await;
    for path in [
        "/v1/carts/not-a-uuid".to_owned(),
        "/v1/carts/12345".to_owned(),
        format!("/v1/carts/{}/items/not-a-uuid", cart.0),
    ] {
        let method = if path.contains("/items/") {
            Method::DELETE
        } else {
            Method::GET
        };
        let reply = app
            .send(app.request(method, &path).header("x-cart-token", &cart.1))
            .await;
        assert_rfc9457(&reply, 404, "not_found");
    }
    let reply = app
        .send(
            app.request(Method::POST, "/v1/carts/not-a-uuid/items")
                .header("x-cart-token", &cart.1)
                .json(&json!({"product_code": "fe", "years": 1})),
        )
        .await;
    assert_rfc9457(&reply, 404, "not_found");
});

both_databases!(
    the_fifty_first_item_is_refused_because_the_cart_is_full,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, fe) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let mut last = String::new();
        for _ in 1..50 {
            let (_, id) = added(
                app,
                &cart,
                json!({"product_code": "spazio-1gb", "base_item_id": fe}),
            )
            .await;
            last = id;
        }
        let full = read(app, &cart).await;
        assert_eq!(items(&full).len(), 50);

        let reply = app
            .add_item(
                &cart,
                &json!({"product_code": "spazio-1gb", "base_item_id": fe}),
            )
            .await;
        let body = assert_rfc9457(&reply, 409, "cart_full");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("50")),
            "{}",
            reply.text
        );
        assert_eq!(items(&read(app, &cart).await).len(), 50);

        // The limit is on what the cart holds: room made is room to add.
        let reply = remove(app, &cart, &last).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let (body, _) = added(
            app,
            &cart,
            json!({"product_code": "documenti", "base_item_id": fe}),
        )
        .await;
        assert_eq!(items(&body).len(), 50);
    }
);

both_databases!(
    a_second_fe_in_the_same_cart_breaks_one_fe_per_holder,
    |app| async move {
        let cart = app.create_cart("web").await;
        let (_, first) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        let (body, second) = added(app, &cart, json!({"product_code": "fe", "years": 1})).await;
        assert_eq!(
            violations(&body),
            vec![violation("one_fe_per_holder", &second)]
        );
        assert_eq!(body["checkout_allowed"], false);
        assert!(
            body["violations"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("già attivo")),
            "{body}"
        );
        // Removing the duplicate makes the cart valid again.
        let reply = remove(app, &cart, &second).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(violations(&reply.body), vec![]);
        assert_eq!(item_ids(&reply.body), vec![first]);
    }
);

both_databases!(
    twenty_concurrent_additions_all_land_in_the_cart,
    |app| async move {
        let cart = app.create_cart("web").await;
        let bodies: Vec<Value> = (1..=20)
            .map(|quantity| json!({"product_code": "spazio-1gb", "quantity": quantity}))
            .collect();
        let replies = join_all(bodies.iter().map(|body| app.add_item(&cart, body))).await;

        let mut sizes = Vec::new();
        let mut reported_ids = HashSet::new();
        for (body, reply) in bodies.iter().zip(&replies) {
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "adding {body}: {}",
                reply.text
            );
            // Each addition saw the cart as it was after its own insert: its
            // item last, and a size no other addition saw.
            let own = items(&reply.body)
                .last()
                .unwrap_or_else(|| panic!("no items: {}", reply.text));
            assert_eq!(own["quantity"], body["quantity"], "{}", reply.text);
            reported_ids.insert(own["id"].as_str().unwrap_or_default().to_owned());
            sizes.push(items(&reply.body).len());
        }
        sizes.sort_unstable();
        assert_eq!(
            sizes,
            (1..=20).collect::<Vec<_>>(),
            "additions were not serialized"
        );

        let final_cart = read(app, &cart).await;
        let ids = item_ids(&final_cart);
        assert_eq!(ids.len(), 20, "{final_cart}");
        let distinct: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(distinct.len(), 20, "duplicate item ids: {final_cart}");
        assert_eq!(distinct, reported_ids);
        let mut quantities: Vec<u64> = items(&final_cart)
            .iter()
            .map(|i| i["quantity"].as_u64().unwrap_or_default())
            .collect();
        quantities.sort_unstable();
        assert_eq!(quantities, (1..=20).collect::<Vec<u64>>());
        // 5.00 x (1 + 2 + ... + 20) GB for one year each.
        assert_totals(&final_cart, "1050.00", "231.00", "1281.00");
    }
);

both_databases!(
    the_cart_an_addition_returns_is_the_cart_read_back,
    |app| async move {
        let cart = app.create_cart("web").await;
        let created = app.get_cart(&cart).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let mut previous = created.body["updated_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for item in [
            json!({"product_code": "fe", "years": 1}),
            json!({"product_code": "spazio-1gb", "quantity": 2}),
        ] {
            let added = app.add_item(&cart, &item).await;
            assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
            // Built from the cart read before the insert plus the new line,
            // it must be exactly what a read now returns, times included.
            let read = app.get_cart(&cart).await;
            assert_eq!(read.status, StatusCode::OK, "{}", read.text);
            assert_eq!(added.body, read.body);
            let updated = read.body["updated_at"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let parse = |text: &str| {
                text.parse::<sea_orm::prelude::DateTimeUtc>()
                    .unwrap_or_else(|e| panic!("{text}: {e}"))
            };
            assert!(
                parse(&updated) >= parse(&previous),
                "{updated} < {previous}"
            );
            previous = updated;
        }
    }
);
