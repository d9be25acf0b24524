//! Buying, paying and getting the service, as the help page "Acquisto del
//! servizio aggiuntivo Incassi e pagamenti" tells it: checkout of a cart
//! into an order awaiting payment (every broken rule listed, the anonymous
//! cart claimed, Idempotency-Key honoured), the customer's orders, the
//! payment — the provider's signed webhook or an operator's registration of
//! a bank transfer — and the fulfilment it triggers exactly once: the FE
//! service, its modules, the panel credentials and the activation email;
//! then case 2, Incassi e pagamenti bought for an owned FE from the customer
//! area, the panel ("Attiva" and the menu) and the Android app, co-terminated
//! with the FE.
//!
//! The story's steps (sign-up, cart, checkout, the signed webhook, the
//! activation email, the first panel login) are `TestApp` methods
//! (`tests::story`); this file keeps the assertions on what they return.
//!
//! Every FE here is bought through the API (checkout, then payment). An FE
//! that ends before a year from today — which co-termination extends — is
//! one paid by bank transfer whose value date, as the operator registers
//! it, lies a few days back.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use sea_orm::prelude::{ChronoDate, DateTimeUtc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::SystemTime;
use tests::story::{
    ACTIVATION_SUBJECT, OPERATOR, PASSWORD, WEBHOOK_SECRET, address, assert_outcome,
    checkout_request, company, line_after, new_key, paid_in_full, payment_succeeded, problem,
    replayed, transfer, unix_now,
};
use tests::{Reply, TestApp, both_databases};

/// The server's defaults for payment instructions, the panel and SdI.
const IBAN: &str = "IT60X0542811101000000123456";
const BENEFICIARY: &str = "Attiva S.r.l.";
const PANEL_URL: &str = "http://127.0.0.1:8080/panel";
const CODICE_DESTINATARIO: &str = "KRRH6B9";
/// Every add-on the catalog offers on `fe`.
const FE_ADDONS: [&str; 4] = [
    "incassi-pagamenti",
    "documenti",
    "woocommerce",
    "spazio-1gb",
];

// --- dates and money -------------------------------------------------------

fn today() -> ChronoDate {
    DateTimeUtc::from(SystemTime::now()).date_naive()
}

fn timestamp(value: &Value) -> DateTimeUtc {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 timestamp: {value}"))
}

/// `years` years after `day`, 29 February becoming 28 February (chrono's
/// `checked_add_months`, as the server counts a yearly term).
fn years_after(day: ChronoDate, years: i32) -> ChronoDate {
    let text = day.format("%Y-%m-%d").to_string();
    let (year, month_day) = text
        .split_once('-')
        .unwrap_or_else(|| panic!("odd date {text}"));
    let year: i32 = year.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    let later = year + years;
    ChronoDate::parse_from_str(&format!("{later}-{month_day}"), "%Y-%m-%d")
        .or_else(|_| ChronoDate::parse_from_str(&format!("{later}-02-28"), "%Y-%m-%d"))
        .unwrap_or_else(|e| panic!("{years} years after {text}: {e}"))
}

fn days_before(day: ChronoDate, days: u32) -> ChronoDate {
    (0..days).fold(day, |d, _| {
        d.pred_opt().unwrap_or_else(|| panic!("no day before {d}"))
    })
}

/// Euro cents of a money string such as `"30.50"` (two decimals, always).
fn cents(amount: &Value) -> i64 {
    let text = amount
        .as_str()
        .unwrap_or_else(|| panic!("not a money string: {amount}"));
    let (euro, cents) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("no decimals in {text}"));
    assert_eq!(cents.len(), 2, "two decimals: {text}");
    let euro: i64 = euro.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    let cents: i64 = cents.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    euro * 100 + cents
}

fn euro(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `numerator / denominator` rounded half-up (positive values).
fn half_up(numerator: i64, denominator: i64) -> i64 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// IVA at 22% of a net amount, rounded half-up to the cent.
fn vat_of(net_cents: i64) -> i64 {
    half_up(net_cents * 22, 100)
}

// --- problems ----------------------------------------------------------------

/// Asserts a 422 `validation_failed` naming `pointer` with `code`.
fn invalid_field(reply: &Reply, pointer: &str, code: &str) {
    let body = problem(reply, 422, "validation_failed");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {}", reply.text));
    assert!(
        errors
            .iter()
            .any(|e| e["pointer"] == pointer && e["code"] == code),
        "no {code} at {pointer}: {}",
        reply.text
    );
}

/// The violations of a `cart_not_eligible` problem as (code, item id).
fn violations(reply: &Reply) -> BTreeSet<(String, String)> {
    let body = problem(reply, 422, "cart_not_eligible");
    body["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("no violations: {}", reply.text))
        .iter()
        .map(|v| {
            assert!(
                v["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "a violation without detail: {v}"
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

/// Asserts that a purchase was refused because the add-on is already on
/// the service or waiting in another unpaid order: 409
/// `addon_already_pending`, or 422 `cart_not_eligible` with
/// `addon_already_present`.
fn assert_addon_refused(reply: &Reply) {
    if reply.status == StatusCode::CONFLICT {
        problem(reply, 409, "addon_already_pending");
    } else {
        let found = violations(reply);
        assert!(
            found
                .iter()
                .any(|(code, _)| code == "addon_already_present"),
            "{}",
            reply.text
        );
    }
}

// --- customers -------------------------------------------------------------------

/// A valid Partita IVA made from ten digits.
fn partita_iva(first_ten: &str) -> String {
    domain::PartitaIva::with_check_digit(first_ten)
        .unwrap_or_else(|e| panic!("{first_ten}: {e}"))
        .to_string()
}

// --- order lines -----------------------------------------------------------------

fn lines(order: &Value) -> &[Value] {
    order["lines"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no lines in {order}"))
}

/// Asserts a priced line: product, context, unit price and amounts.
fn assert_line(line: &Value, product: &str, context: &str, unit: &str, amounts: [&str; 3]) {
    assert_eq!(line["product_code"], product, "{line}");
    assert_eq!(line["context"], context, "{line}");
    assert_eq!(line["unit_price"], unit, "{line}");
    assert_eq!(
        [&line["net"], &line["vat"], &line["total"]],
        amounts.map(|a| json!(a)).each_ref(),
        "{line}"
    );
    assert_eq!(line["vat_rate"], "22", "{line}");
}

/// Asserts the totals of an order, and that they are the sums of its lines.
fn assert_totals(order: &Value, net: &str, vat: &str, total: &str) {
    let totals = &order["totals"];
    assert_eq!(
        [
            &totals["net"],
            &totals["vat"],
            &totals["total"],
            &totals["currency"]
        ],
        [&json!(net), &json!(vat), &json!(total), &json!("EUR")],
        "{order}"
    );
    for field in ["net", "vat", "total"] {
        let sum: i64 = lines(order).iter().map(|l| cents(&l[field])).sum();
        assert_eq!(sum, cents(&totals[field]), "{field}: {order}");
    }
}

/// Asserts the human order number: `ATV-<year>-<six digits>`.
fn assert_order_number(order: &Value) {
    let number = order["number"].as_str().unwrap_or_default();
    let year = today().format("%Y").to_string();
    let digits = number
        .strip_prefix(&format!("ATV-{year}-"))
        .unwrap_or_else(|| panic!("order number {number:?}"));
    assert!(
        digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()),
        "order number {number:?}"
    );
}

// --- modules -------------------------------------------------------------------------

fn module<'a>(view: &'a Value, code: &str) -> &'a Value {
    view["modules"]
        .as_array()
        .and_then(|modules| modules.iter().find(|m| m["code"] == code))
        .unwrap_or_else(|| panic!("no module {code} in {view}"))
}

fn assert_module(view: &Value, code: &str, state: &str, actions: &[&str]) {
    let module = module(view, code);
    assert_eq!(module["state"], state, "{code}: {view}");
    assert_eq!(module["actions"], json!(actions), "{code}: {view}");
}

/// Asserts that the service offers every add-on of FE, and shows I&P as given.
fn assert_modules(view: &Value, incassi_pagamenti: &str, actions: &[&str]) {
    let codes: Vec<&str> = view["modules"]
        .as_array()
        .unwrap_or_else(|| panic!("no modules in {view}"))
        .iter()
        .filter_map(|m| m["code"].as_str())
        .collect();
    assert_eq!(
        codes.iter().copied().collect::<BTreeSet<_>>(),
        FE_ADDONS.into_iter().collect::<BTreeSet<_>>(),
        "{view}"
    );
    assert_module(view, "incassi-pagamenti", incassi_pagamenti, actions);
    assert_eq!(
        module(view, "incassi-pagamenti")["name"],
        "Incassi e pagamenti"
    );
}

// --- the activation email ---------------------------------------------------------

/// A date as the emails write it: `31/12/2026`.
fn mail_date(day: ChronoDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

// --- case 1 ----------------------------------------------------------------------------

both_databases!(
    new_customer_buys_fe_with_incassi_pagamenti_free_pays_by_card_and_gets_to_the_wizard,
    |app| async move {
        // 1. Browse the catalog.
        for code in ["fe", "incassi-pagamenti"] {
            let reply = app.get(&format!("/v1/catalog/products/{code}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{code}: {}", reply.text);
        }
        // 2. A cart from the web shop: FE, and I&P "Aggiungi al carrello".
        let (cart, fe_item, ip_item) = app.fe_with_incassi_pagamenti("web", 1).await;
        // 3. Sign up, give the activation email, pay by card, accept, check out.
        let customer = app.customer("01234567897").await;
        let order = app.place_order(&customer, &cart, "card").await;
        assert_order_number(&order);
        assert_eq!(order["channel"], "web");
        assert_eq!(order["payment_method"], "card");
        assert_eq!(
            order["activation_email"],
            "attivazione-01234567897@example.com"
        );
        assert_eq!(order["holder"]["partita_iva"], "01234567897");
        assert_eq!(order["holder"]["denominazione"], "Alfa S.r.l.");
        assert_eq!(order["flagged_for_review"], false);
        for unset in ["service_id", "paid_at", "fulfilled_at", "cancelled_at"] {
            assert_eq!(order[unset], Value::Null, "{unset}: {order}");
        }
        let week = timestamp(&order["expires_at"]) - timestamp(&order["created_at"]);
        assert!(
            (week.num_seconds() - 7 * 24 * 3600).abs() < 60,
            "unpaid orders expire in a week: {order}"
        );
        let [fe_line, ip_line] = lines(&order) else {
            panic!("two lines expected: {order}");
        };
        assert_line(fe_line, "fe", "base", "25.00", ["25.00", "5.50", "30.50"]);
        assert_eq!(fe_line["item_id"], fe_item.as_str());
        assert_eq!(fe_line["description"], "Fatturazione Elettronica");
        assert_eq!(
            (&fe_line["years"], &fe_line["quantity"]),
            (&json!(1), &json!(1))
        );
        // I&P is free with a new FE.
        assert_line(
            ip_line,
            "incassi-pagamenti",
            "with_new_base",
            "0.00",
            ["0.00", "0.00", "0.00"],
        );
        assert_eq!(ip_line["item_id"], ip_item.as_str());
        assert_eq!(ip_line["target_service_id"], Value::Null);
        assert_totals(&order, "25.00", "5.50", "30.50");
        assert_eq!(
            order["payment_instructions"],
            json!({"method": "card", "amount": "30.50", "currency": "EUR",
                   "iban": null, "beneficiary": null, "causale": order["number"]}),
        );
        // The cart is closed: the order's lines are frozen.
        let closed = app
            .add_item(
                &cart,
                &json!({"product_code": "documenti", "base_item_id": fe_item}),
            )
            .await;
        problem(&closed, 409, "cart_not_open");

        // 4. The provider confirms the card payment.
        app.pay_by_card(&order).await;

        // 5. Fulfilment: the order, the FE service with I&P, the email.
        let paid = app.read_order(&customer, &order["id"]).await;
        assert_eq!(paid["status"], "fulfilled", "{paid}");
        assert_eq!(paid["lines"], order["lines"], "the lines are frozen");
        assert_eq!(paid["totals"], order["totals"]);
        let paid_at = timestamp(&paid["paid_at"]);
        assert!(
            (DateTimeUtc::from(SystemTime::now()) - paid_at)
                .num_seconds()
                .abs()
                < 60,
            "{paid}"
        );
        assert!(paid["fulfilled_at"].is_string(), "{paid}");
        let service_id = paid["service_id"].as_str().unwrap_or_default().to_owned();
        let expiry = years_after(paid_at.date_naive(), 1);
        let listed = app.services(&customer).await;
        let [fe] = listed.as_slice() else {
            panic!("one service expected: {listed:?}");
        };
        assert_eq!(fe["id"], service_id.as_str());
        assert_eq!(fe["product_code"], "fe");
        assert_eq!(fe["status"], "awaiting_configuration");
        assert_eq!(fe["expires_on"], expiry.to_string());
        assert_eq!(fe["codice_destinatario"], CODICE_DESTINATARIO);
        assert_eq!(fe["holder_tax_id"], "01234567897");
        // Bought with FE: no matching procedure; its wizard waits for the FE's (issue 10).
        assert_modules(fe, "purchased", &[]);
        for other in ["documenti", "woocommerce", "spazio-1gb"] {
            assert_module(fe, other, "available", &["purchase"]);
        }
        assert_eq!(&app.service(&customer, &service_id).await, fe);

        // The activation email, in Italian, with the credentials.
        let (mail, credentials) = app
            .activation_mail("attivazione-01234567897@example.com")
            .await;
        assert_eq!(credentials.username, "fe-01234567897");
        assert!(credentials.temporary_password.len() >= 12, "{mail:?}");
        for expected in [
            "Gentile Alfa S.r.l.,".to_owned(),
            format!("ordine n. {}", order["number"].as_str().unwrap_or_default()),
            format!("attivo fino al {}", mail_date(expiry)),
            format!("Indirizzo del pannello: {PANEL_URL}"),
            "Al primo accesso è obbligatorio modificare la password ricevuta.".to_owned(),
            "- Incassi e pagamenti".to_owned(),
            "procedura guidata di attivazione del modulo \"Incassi e pagamenti\"".to_owned(),
        ] {
            assert!(
                mail.body.contains(&expected),
                "missing {expected:?} in:\n{}",
                mail.body
            );
        }
        assert!(
            !mail.body.contains("Abbina"),
            "no matching first:\n{}",
            mail.body
        );
        // Queued once, in the outbox, for this order.
        let store = app.store().await;
        let queued = store
            .outbox()
            .emails_for("attivazione-01234567897@example.com")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let [email] = queued.as_slice() else {
            panic!("one email expected: {queued:?}");
        };
        assert_eq!(email.kind, "activation");
        assert_eq!(email.subject, ACTIVATION_SUBJECT);
        assert_eq!(
            email.order_id.map(|id| id.to_string()),
            order["id"].as_str().map(str::to_owned)
        );
        store.close().await;

        // 6. First panel login: only the password change, then the panel.
        let panel = app.first_panel_login(&credentials).await;
        let status = app.panel_status(&panel).await;
        assert_eq!(status["service_id"], service_id.as_str());
        assert_eq!(status["product_code"], "fe");
        assert_eq!(status["status"], "awaiting_configuration");
        assert_eq!(status["expires_on"], expiry.to_string());
        assert_eq!(status["codice_destinatario"], CODICE_DESTINATARIO);
        assert_eq!(status["username"], "fe-01234567897");
        assert_modules(&status, "purchased", &[]);
        // The temporary password is spent.
        let again = app
            .panel_login(&credentials.username, &credentials.temporary_password)
            .await;
        problem(&again, 401, "invalid_credentials");
    }
);

both_databases!(
    a_bank_transfer_order_shows_the_iban_and_the_order_number_as_causale,
    |app| async move {
        let customer = app.customer("00743110157").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("customer_area", 2).await;
        let order = app.place_order(&customer, &cart, "bank_transfer").await;
        assert_eq!(order["channel"], "customer_area");
        assert_eq!(order["payment_method"], "bank_transfer");
        assert_totals(&order, "50.00", "11.00", "61.00");
        assert_eq!(
            order["payment_instructions"],
            json!({"method": "bank_transfer", "amount": "61.00", "currency": "EUR",
                   "iban": IBAN, "beneficiary": BENEFICIARY, "causale": order["number"]}),
        );
        // Postal slips, card and PayPal carry no IBAN.
        for method in ["bollettino", "paypal"] {
            let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
            let other = app.place_order(&customer, &cart, method).await;
            assert_eq!(other["payment_method"], method);
            assert_eq!(other["payment_instructions"]["method"], method);
            assert_eq!(
                other["payment_instructions"]["iban"],
                Value::Null,
                "{other}"
            );
            assert_eq!(other["payment_instructions"]["causale"], other["number"]);
            assert_ne!(other["number"], order["number"]);
        }
    }
);

both_databases!(
    an_operator_registers_a_bank_transfer_and_the_fe_runs_from_its_value_date,
    |app| async move {
        let operator = app.operator_token().await;
        let customer = app.customer("12345678903").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 2).await;
        let order = app.place_order(&customer, &cart, "bank_transfer").await;
        let paid_on = days_before(today(), 3);
        let body = transfer(&order, paid_on);

        // Only an operator, only with an Idempotency-Key.
        let id = order["id"].as_str().unwrap_or_default();
        let path = format!("/v1/backoffice/orders/{id}/payments");
        let anonymous = app
            .send(
                app.request(Method::POST, &path)
                    .header("idempotency-key", "k")
                    .json(&body),
            )
            .await;
        problem(&anonymous, 401, "authentication_required");
        let as_customer = app.post_keyed(&path, &customer.token, "k", &body).await;
        problem(&as_customer, 403, "wrong_audience");
        let keyless = app.post_as(&path, &operator, &body).await;
        problem(&keyless, 400, "idempotency_key_required");
        assert_eq!(
            app.read_order(&customer, &order["id"]).await["status"],
            "awaiting_payment"
        );

        let key = new_key();
        let registered = app.register_payment(&operator, &order, &key, &body).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.text
        );
        assert_eq!(registered.body["status"], "fulfilled");
        assert_eq!(registered.body["id"], order["id"]);
        let paid_at = timestamp(&registered.body["paid_at"]);
        assert_eq!(paid_at.date_naive(), paid_on, "{}", registered.text);
        // Two years from the value date.
        let fe = app
            .service(
                &customer,
                registered.body["service_id"].as_str().unwrap_or_default(),
            )
            .await;
        assert_eq!(
            fe["expires_on"],
            years_after(paid_on, 2).to_string(),
            "{fe}"
        );
        assert_modules(&fe, "purchased", &[]);

        // The same registration again is the same answer, replayed.
        let replay = app.register_payment(&operator, &order, &key, &body).await;
        assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.text);
        assert!(replayed(&replay), "{:?}", replay.headers);
        assert_eq!(replay.body, registered.body);
        // The same key for another registration is refused...
        let other_body = json!({"amount": "61.00", "reference": "CRO 999"});
        let reused = app
            .register_payment(&operator, &order, &key, &other_body)
            .await;
        problem(&reused, 422, "idempotency_key_reused");
        // ...and a new registration finds the order paid.
        let twice = app
            .register_payment(&operator, &order, &new_key(), &body)
            .await;
        problem(&twice, 409, "order_already_paid");
        assert_eq!(app.services(&customer).await.len(), 1);

        // The credentials work.
        let (_, credentials) = app.activation_mail(&customer.activation_email()).await;
        let panel = app.first_panel_login(&credentials).await;
        assert_eq!(
            app.panel_status(&panel).await["expires_on"],
            fe["expires_on"]
        );
    }
);

both_databases!(
    credentials_of_a_bank_transfer_registered_weeks_late_still_open_the_panel,
    |app| async move {
        // The customer paid by bank transfer a month ago; the operator
        // registers it today with its value date. The email goes out today
        // and its temporary password must work for the usual 14 days.
        let operator = app.operator_token().await;
        let fe = app
            .customer_with_fe_paid_on(&operator, "00488410010", days_before(today(), 30))
            .await;
        let (mail, credentials) = app.activation_mail(&fe.customer.activation_email()).await;
        let valid_until = line_after(&mail.body, "La password temporanea è valida fino al");
        let login = app
            .panel_login(&credentials.username, &credentials.temporary_password)
            .await;
        assert_eq!(
            login.status,
            StatusCode::OK,
            "a temporary password emailed today is already expired (email says valid until {valid_until}): {}",
            login.text
        );
        assert_eq!(
            login.body["password_change_required"], true,
            "{}",
            login.text
        );
    }
);

both_databases!(
    credentials_reissued_by_an_operator_reach_the_holder_by_email,
    |app| async move {
        // The way out of an expired temporary password ("ask for new
        // credentials"): the operator reissues them, never seeing the
        // password, and the holder gets it by email.
        let fe = app.customer_with_fe("07643520567").await;
        let recipient = fe.customer.activation_email();
        let (first, _) = app.activation_mail(&recipient).await;
        let operator = app.operator_token().await;
        let path = format!(
            "/v1/backoffice/services/{}/credentials/reissue",
            fe.service_id
        );
        let reply = app.post_as(&path, &operator, &json!({})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["username"], "fe-07643520567", "{}", reply.text);
        assert!(
            reply.body.get("temporary_password").is_none(),
            "{}",
            reply.text
        );

        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        let second = loop {
            let found = app.mails().into_iter().find(|mail| {
                mail.file_name != first.file_name
                    && mail.header("To").is_some_and(|to| to.contains(&recipient))
            });
            if let Some(mail) = found {
                break mail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no email with the reissued credentials to {recipient} within 15 s; outbox: {:?}",
                app.store().await.outbox().emails_for(&recipient).await
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        };
        let password = line_after(&second.body, "Password temporanea:");
        let login = app.panel_login("fe-07643520567", &password).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.text);
        assert_eq!(
            login.body["password_change_required"], true,
            "{}",
            login.text
        );
    }
);

both_databases!(
    checkout_refuses_a_cart_listing_every_broken_rule,
    |app| async move {
        let customer = app.customer("07643520567").await;
        let cart = app.create_cart("web").await;
        let (_, fe) = app
            .add(&cart, &json!({"product_code": "fe", "years": 1}))
            .await;
        let (_, second_fe) = app
            .add(&cart, &json!({"product_code": "fe", "years": 1}))
            .await;
        // I&P is never sold alone.
        let (_, alone) = app
            .add(&cart, &json!({"product_code": "incassi-pagamenti"}))
            .await;
        // WooCommerce needs Documenti.
        let (_, woo) = app
            .add(
                &cart,
                &json!({"product_code": "woocommerce", "base_item_id": fe}),
            )
            .await;
        let body = checkout_request("card", &customer.activation_email());
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &body)
            .await;
        assert_eq!(
            violations(&reply),
            BTreeSet::from([
                violation("addon_requires_base", &alone),
                violation("addon_requires_addon", &woo),
                violation("one_fe_per_holder", &second_fe),
            ]),
            "{}",
            reply.text
        );
        // Nothing was ordered and the cart is still open to be fixed.
        let orders = app.get_as("/v1/orders", &customer.token).await;
        assert_eq!(orders.body["items"], json!([]), "{}", orders.text);
        assert_eq!(app.get_cart(&cart).await.body["status"], "open");

        // FE needs a Partita IVA: a persona fisica holder is refused.
        let (cart, fe, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let mut for_a_person = checkout_request("card", &customer.activation_email());
        for_a_person["holder"] = json!({
            "kind": "persona_fisica", "nome": "Mario", "cognome": "Rossi",
            "codice_fiscale": "RSSMRA85T10A562S", "address": address()
        });
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &for_a_person)
            .await;
        assert_eq!(
            violations(&reply),
            BTreeSet::from([violation("base_requires_partita_iva", &fe)]),
            "{}",
            reply.text
        );
    }
);

both_databases!(
    checkout_needs_accepted_terms_an_activation_email_and_an_idempotency_key,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let mut refused = checkout_request("card", &customer.activation_email());
        refused["accept_terms"] = json!(false);
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &refused)
            .await;
        invalid_field(&reply, "/accept_terms", "terms_not_accepted");

        let bad_email = checkout_request("card", "not an address");
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &bad_email)
            .await;
        invalid_field(&reply, "/activation_email", "invalid_email");

        let unknown_method = checkout_request("cash", &customer.activation_email());
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &unknown_method)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );

        // Prices and totals are the server's.
        let mut priced = checkout_request("card", &customer.activation_email());
        priced["total"] = json!("0.01");
        let reply = app
            .check_out(&customer.token, &cart, &new_key(), &priced)
            .await;
        invalid_field(&reply, "/total", "unknown_field");

        let body = checkout_request("card", &customer.activation_email());
        let keyless = app
            .send(
                app.request(Method::POST, &format!("/v1/carts/{}/checkout", cart.0))
                    .bearer_auth(&customer.token)
                    .header("x-cart-token", &cart.1)
                    .json(&body),
            )
            .await;
        problem(&keyless, 400, "idempotency_key_required");
        let anonymous = app
            .send(
                app.request(Method::POST, &format!("/v1/carts/{}/checkout", cart.0))
                    .header("idempotency-key", new_key())
                    .header("x-cart-token", &cart.1)
                    .json(&body),
            )
            .await;
        problem(&anonymous, 401, "authentication_required");
        // None of it placed an order.
        let orders = app.get_as("/v1/orders", &customer.token).await;
        assert_eq!(orders.body["items"], json!([]), "{}", orders.text);
        app.place_order(&customer, &cart, "card").await;
    }
);

both_databases!(
    a_logged_in_customers_cart_is_theirs_from_the_start,
    |app| async move {
        let mario = app.customer("01234567897").await;
        let luigi = app.customer("00743110157").await;

        // Mario opens a cart while logged in: it is his, and has no token.
        let created = app
            .post_as("/v1/carts", &mario.token, &json!({"channel": "web"}))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        assert!(created.body.get("token").is_none(), "{}", created.text);
        let cart_id = created.body["id"].as_str().unwrap_or_default().to_owned();
        let cart = (cart_id.clone(), String::new());
        let path = format!("/v1/carts/{cart_id}");
        let added = app
            .post_as(
                &format!("{path}/items"),
                &mario.token,
                &json!({"product_code": "fe", "years": 1}),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
        let item = added.body["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mine = app.get_as(&path, &mario.token).await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        assert_eq!(mine.body["items"][0]["product_code"], "fe", "{}", mine.text);

        // Luigi gets 404 on every call about it, as for a cart that does
        // not exist; so does a caller with a guessed token.
        problem(
            &app.get_as(&path, &luigi.token).await,
            404,
            "cart_not_found",
        );
        let reply = app
            .post_as(
                &format!("{path}/items"),
                &luigi.token,
                &json!({"product_code": "fe", "years": 2}),
            )
            .await;
        problem(&reply, 404, "cart_not_found");
        let reply = app
            .send(
                app.request(Method::DELETE, &format!("{path}/items/{item}"))
                    .bearer_auth(&luigi.token),
            )
            .await;
        problem(&reply, 404, "cart_not_found");
        let guessed = app
            .send(
                app.request(Method::GET, &path)
                    .header("x-cart-token", "0".repeat(64)),
            )
            .await;
        problem(&guessed, 404, "cart_not_found");
        let body = checkout_request("card", &luigi.activation_email());
        let reply = app.check_out(&luigi.token, &cart, &new_key(), &body).await;
        problem(&reply, 404, "cart_not_found");
        let theirs = app.get_as("/v1/orders", &luigi.token).await;
        assert_eq!(theirs.body["items"], json!([]), "{}", theirs.text);

        // Mario's cart is untouched and he checks it out with his token alone.
        let mine = app.get_as(&path, &mario.token).await;
        assert_eq!(
            mine.body["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            mine.text
        );
        let order = app.place_order(&mario, &cart, "card").await;
        assert_eq!(lines(&order).len(), 1, "{order}");
        let orders = app.get_as("/v1/orders", &mario.token).await;
        assert_eq!(
            orders.body["items"][0]["id"], order["id"],
            "{}",
            orders.text
        );

        // A bearer token that is sent must be a valid customer token.
        let reply = app
            .post_as("/v1/carts", "not-a-token", &json!({"channel": "web"}))
            .await;
        problem(&reply, 401, "invalid_token");
    }
);

both_databases!(
    an_anonymous_cart_is_claimed_by_the_customer_who_checks_it_out,
    |app| async move {
        let mario = app.customer("01234567897").await;
        let luigi = app.customer("00743110157").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("android_app", 1).await;
        let body = checkout_request("paypal", &mario.activation_email());

        // Without the cart's token nobody can claim it.
        let wrong_token = (cart.0.clone(), "0".repeat(64));
        let reply = app
            .check_out(&mario.token, &wrong_token, &new_key(), &body)
            .await;
        problem(&reply, 403, "cart_token_invalid");

        let order = app.place_order(&mario, &cart, "paypal").await;
        assert_eq!(order["channel"], "android_app");
        assert_eq!(order["payment_method"], "paypal");

        // Now it is Mario's: Luigi cannot, even with the token.
        let reply = app.check_out(&luigi.token, &cart, &new_key(), &body).await;
        problem(&reply, 404, "cart_not_found");
        // And it cannot be checked out twice.
        let reply = app.check_out(&mario.token, &cart, &new_key(), &body).await;
        problem(&reply, 409, "cart_not_open");
        let mine = app.get_as("/v1/orders", &mario.token).await;
        assert_eq!(
            mine.body["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            mine.text
        );
        let theirs = app.get_as("/v1/orders", &luigi.token).await;
        assert_eq!(theirs.body["items"], json!([]), "{}", theirs.text);
    }
);

both_databases!(
    checkout_takes_the_holder_given_instead_of_the_accounts,
    |app| async move {
        // An accountant buys FE for a client company.
        let accountant = app.customer("01234567897").await;
        let client = partita_iva("0000000001");
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let mut body = checkout_request("card", "cliente@example.com");
        body["holder"] = company(&client);
        let reply = app
            .check_out(&accountant.token, &cart, &new_key(), &body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let order = reply.body;
        assert_eq!(order["holder"]["partita_iva"], client.as_str());
        app.pay_by_card(&order).await;
        let listed = app.services(&accountant).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["holder_tax_id"], client.as_str());
        let (_, credentials) = app.activation_mail("cliente@example.com").await;
        assert_eq!(credentials.username, format!("fe-{client}"));
    }
);

// --- orders --------------------------------------------------------------------------

both_databases!(
    orders_are_listed_newest_first_a_page_at_a_time,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let mut numbers = Vec::new();
        for _ in 0..3 {
            let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
            numbers
                .push(app.place_order(&customer, &cart, "bank_transfer").await["number"].clone());
        }
        numbers.reverse();
        let first = app.get_as("/v1/orders?limit=2", &customer.token).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let page: Vec<&Value> = first.body["items"]
            .as_array()
            .map(|i| i.iter().map(|o| &o["number"]).collect())
            .unwrap_or_default();
        assert_eq!(page, vec![&numbers[0], &numbers[1]], "{}", first.text);
        let cursor = first.body["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("no next_cursor: {}", first.text));
        let second = app
            .get_as(
                &format!("/v1/orders?limit=2&cursor={cursor}"),
                &customer.token,
            )
            .await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.text);
        let page: Vec<&Value> = second.body["items"]
            .as_array()
            .map(|i| i.iter().map(|o| &o["number"]).collect())
            .unwrap_or_default();
        assert_eq!(page, vec![&numbers[2]], "{}", second.text);
        assert_eq!(second.body["next_cursor"], Value::Null, "{}", second.text);
        // Every field of the detail is in the list.
        let detail = app
            .read_order(&customer, &second.body["items"][0]["id"])
            .await;
        assert_eq!(detail, second.body["items"][0]);

        let reply = app.get_as("/v1/orders?limit=0", &customer.token).await;
        invalid_field(&reply, "/limit", "out_of_range");
        let reply = app
            .get_as("/v1/orders?cursor=not-a-cursor", &customer.token)
            .await;
        invalid_field(&reply, "/cursor", "invalid_cursor");
        let reply = app.get("/v1/orders").await;
        problem(&reply, 401, "authentication_required");
    }
);

both_databases!(
    an_order_awaiting_payment_can_be_cancelled_and_then_cannot_be_paid,
    |app| async move {
        let operator = app.operator_token().await;
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "bank_transfer").await;
        let id = order["id"].as_str().unwrap_or_default();
        let reply = app
            .post_as(
                &format!("/v1/orders/{id}/cancel"),
                &customer.token,
                &json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["status"], "cancelled");
        assert!(reply.body["cancelled_at"].is_string(), "{}", reply.text);
        assert_eq!(reply.body["lines"], order["lines"]);

        let paid = app.webhook(&paid_in_full("evt_after_cancel", &order)).await;
        assert_outcome(&paid, "not_payable", &order);
        let registered = app
            .register_payment(&operator, &order, &new_key(), &transfer(&order, today()))
            .await;
        problem(&registered, 409, "order_not_payable");
        let after = app.read_order(&customer, &order["id"]).await;
        assert_eq!(after["status"], "cancelled");
        assert_eq!(after["paid_at"], Value::Null);
        // The provider's money is not lost: it is on the order, flagged
        // for an operator to refund. The operator's transfer was refused.
        assert_eq!(after["flagged_for_review"], true, "{after}");
        assert_eq!(
            after["amount_received"], order["totals"]["total"],
            "{after}"
        );
        assert_eq!(
            after["payments"].as_array().map(Vec::len),
            Some(1),
            "{after}"
        );
        assert_eq!(after["payments"][0]["source"], "webhook", "{after}");
        assert_eq!(app.services(&customer).await, Vec::<Value>::new());
    }
);

both_databases!(a_paid_order_cannot_be_cancelled, |app| async move {
    let customer = app.customer("01234567897").await;
    let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
    let order = app.place_order(&customer, &cart, "card").await;
    app.pay_by_card(&order).await;
    let id = order["id"].as_str().unwrap_or_default();
    let reply = app
        .post_as(
            &format!("/v1/orders/{id}/cancel"),
            &customer.token,
            &json!({}),
        )
        .await;
    problem(&reply, 409, "order_not_cancellable");
    assert_eq!(
        app.read_order(&customer, &order["id"]).await["status"],
        "fulfilled"
    );
});

both_databases!(
    a_customer_cannot_see_cancel_or_extend_what_another_customer_owns,
    |app| async move {
        let owner = app.customer_with_fe("01234567897").await;
        let stranger = app.customer("00743110157").await;
        let orders = app.get_as("/v1/orders", &owner.customer.token).await;
        let id = orders.body["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        problem(
            &app.get_as(&format!("/v1/orders/{id}"), &stranger.token)
                .await,
            404,
            "order_not_found",
        );
        problem(
            &app.post_as(
                &format!("/v1/orders/{id}/cancel"),
                &stranger.token,
                &json!({}),
            )
            .await,
            404,
            "order_not_found",
        );
        let service_path = format!("/v1/services/{}", owner.service_id);
        problem(
            &app.get_as(&service_path, &stranger.token).await,
            404,
            "service_not_found",
        );
        let purchase =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let reply = app
            .post_keyed(
                &format!("{service_path}/addons"),
                &stranger.token,
                &new_key(),
                &purchase,
            )
            .await;
        problem(&reply, 404, "service_not_found");
        assert_eq!(app.services(&stranger).await, Vec::<Value>::new());
    }
);

// --- payments --------------------------------------------------------------------------

both_databases!(
    a_webhook_with_a_bad_or_stale_signature_changes_nothing,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        let event = paid_in_full("evt_signed", &order);
        let body = event.to_string();
        let now = unix_now();
        let sign =
            |secret: &str, t: i64, body: &str| api::payments::sign(secret, t, body.as_bytes());
        let tampered = payment_succeeded("evt_signed", &order, "0.01").to_string();
        for (what, raw, signature) in [
            ("no signature", body.clone(), None),
            (
                "another key",
                body.clone(),
                Some(sign("not-the-secret", now, &body)),
            ),
            (
                "five minutes old",
                body.clone(),
                Some(sign(WEBHOOK_SECRET, now - 301, &body)),
            ),
            (
                "from the future",
                body.clone(),
                Some(sign(WEBHOOK_SECRET, now + 301, &body)),
            ),
            (
                "another body",
                tampered,
                Some(sign(WEBHOOK_SECRET, now, &body)),
            ),
            ("garbage", body.clone(), Some("t=abc,v1=zz".to_owned())),
        ] {
            let reply = app.webhook_raw(&raw, signature.as_deref()).await;
            problem(&reply, 401, "invalid_signature");
            assert!(
                !reply.text.contains(WEBHOOK_SECRET),
                "{what}: {}",
                reply.text
            );
        }
        let unchanged = app.read_order(&customer, &order["id"]).await;
        assert_eq!(unchanged["status"], "awaiting_payment", "{unchanged}");
        assert_eq!(unchanged["flagged_for_review"], false, "{unchanged}");
        assert_eq!(app.services(&customer).await, Vec::<Value>::new());
        // Not even the event id was kept: signed, it pays the order.
        assert_outcome(&app.webhook(&event).await, "fulfilled", &order);
    }
);

both_databases!(a_repeated_webhook_event_changes_nothing, |app| async move {
    let customer = app.customer("01234567897").await;
    let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
    let order = app.place_order(&customer, &cart, "card").await;
    let event = paid_in_full("evt_once", &order);
    assert_outcome(&app.webhook(&event).await, "fulfilled", &order);
    let paid = app.read_order(&customer, &order["id"]).await;

    assert_outcome(&app.webhook(&event).await, "duplicate", &order);
    // Another event for the same payment finds the order paid.
    assert_outcome(
        &app.webhook(&paid_in_full("evt_twice", &order)).await,
        "already_paid",
        &order,
    );

    assert_eq!(app.read_order(&customer, &order["id"]).await, paid);
    assert_eq!(app.services(&customer).await.len(), 1);
    let store = app.store().await;
    let emails = store
        .outbox()
        .emails_for(&customer.activation_email())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(emails.len(), 1, "{emails:?}");
    store.close().await;
});

both_databases!(
    a_payment_of_another_amount_flags_the_order_for_review_without_fulfilling_it,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        let short = app
            .webhook(&payment_succeeded("evt_short", &order, "25.00"))
            .await;
        assert_outcome(&short, "flagged_for_review", &order);
        let flagged = app.read_order(&customer, &order["id"]).await;
        assert_eq!(flagged["flagged_for_review"], true, "{flagged}");
        assert_eq!(flagged["status"], "awaiting_payment", "{flagged}");
        assert_eq!(flagged["paid_at"], Value::Null, "{flagged}");
        assert_eq!(flagged["service_id"], Value::Null, "{flagged}");
        assert_eq!(app.services(&customer).await, Vec::<Value>::new());

        // The same from an operator: 200 and the order, flagged, not paid.
        let operator = app.operator_token().await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let transfer_order = app.place_order(&customer, &cart, "bank_transfer").await;
        let body = json!({"amount": "30.00", "reference": "CRO 42"});
        let reply = app
            .register_payment(&operator, &transfer_order, &new_key(), &body)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["flagged_for_review"], true, "{}", reply.text);
        assert_eq!(reply.body["status"], "awaiting_payment", "{}", reply.text);
        assert_eq!(app.services(&customer).await, Vec::<Value>::new());
        let store = app.store().await;
        let emails = store
            .outbox()
            .emails_for(&customer.activation_email())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(emails.is_empty(), "{emails:?}");
        store.close().await;
    }
);

both_databases!(
    a_failed_payment_is_recorded_and_pays_nothing,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        let mut failed = paid_in_full("evt_declined", &order);
        failed["type"] = json!("payment.failed");
        assert_outcome(&app.webhook(&failed).await, "recorded", &order);
        assert_outcome(&app.webhook(&failed).await, "duplicate", &order);
        assert_eq!(
            app.read_order(&customer, &order["id"]).await["status"],
            "awaiting_payment"
        );
        // The customer retries and the card goes through.
        app.pay_by_card(&order).await;

        let unknown = json!({"id": "evt_x", "type": "payment.succeeded", "order_number": "ATV-1999-000001",
                             "amount": "1.00", "currency": "EUR", "provider_payment_id": "pi_x"});
        problem(&app.webhook(&unknown).await, 404, "order_not_found");
    }
);

both_databases!(
    a_second_fe_order_for_the_same_partita_iva_does_not_break_the_payment,
    |app| async move {
        // The customer checks out FE by bank transfer, does not pay, and
        // checks out again by card; the card is paid. Then the transfer
        // arrives too. One FE per holder: no second service — and the
        // provider gets an answer, not a server error it would retry forever.
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let first = app.place_order(&customer, &cart, "paypal").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let second = app.place_order(&customer, &cart, "card").await;
        app.pay_by_card(&second).await;
        let late = app.webhook(&paid_in_full("evt_late", &first)).await;
        assert!(
            !late.status.is_server_error(),
            "paying the first order answers {}: {}",
            late.status,
            late.text
        );
        assert_eq!(app.services(&customer).await.len(), 1);
        let store = app.store().await;
        let emails = store
            .outbox()
            .emails_for(&customer.activation_email())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(emails.len(), 1, "{emails:?}");
        store.close().await;
    }
);

// --- races -----------------------------------------------------------------------------

both_databases!(
    twenty_identical_webhooks_fulfil_the_order_once,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        let body = paid_in_full("evt_storm", &order).to_string();
        let signature = api::payments::sign(WEBHOOK_SECRET, unix_now(), body.as_bytes());
        let replies = join_all((0..20).map(|_| app.webhook_raw(&body, Some(&signature)))).await;
        let mut outcomes: Vec<String> = replies
            .iter()
            .map(|r| {
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
                r.body["outcome"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        outcomes.sort();
        let mut expected = vec!["duplicate".to_owned(); 19];
        expected.push("fulfilled".to_owned());
        assert_eq!(outcomes, expected);

        assert_eq!(
            app.read_order(&customer, &order["id"]).await["status"],
            "fulfilled"
        );
        assert_eq!(app.services(&customer).await.len(), 1);
        let store = app.store().await;
        let emails = store
            .outbox()
            .emails_for(&customer.activation_email())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(emails.len(), 1, "{emails:?}");
        store.close().await;
        let (_, credentials) = app.activation_mail(&customer.activation_email()).await;
        app.first_panel_login(&credentials).await;
    }
);

both_databases!(
    a_webhook_racing_the_operators_registration_fulfils_the_order_once,
    |app| async move {
        let operator = app.operator_token().await;
        let customer = app.customer("01234567897").await;
        for round in 0..3 {
            let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
            let mut body = checkout_request("bank_transfer", &customer.activation_email());
            body["holder"] = company(&partita_iva(&format!("000000001{round}")));
            let reply = app
                .check_out(&customer.token, &cart, &new_key(), &body)
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            let order = reply.body;
            let event = paid_in_full(&format!("evt_race_{round}"), &order);
            let (by_provider, by_operator) = futures_util::future::join(
                app.webhook(&event),
                app.register_payment(&operator, &order, &new_key(), &transfer(&order, today())),
            )
            .await;
            assert_eq!(by_provider.status, StatusCode::OK, "{}", by_provider.text);
            let provider_won = by_provider.body["outcome"] == "fulfilled";
            if provider_won {
                problem(&by_operator, 409, "order_already_paid");
            } else {
                assert_outcome(&by_provider, "already_paid", &order);
                assert_eq!(
                    by_operator.status,
                    StatusCode::CREATED,
                    "{}",
                    by_operator.text
                );
            }
            assert_eq!(
                app.read_order(&customer, &order["id"]).await["status"],
                "fulfilled"
            );
            assert_eq!(app.services(&customer).await.len(), round + 1);
        }
        let store = app.store().await;
        let emails = store
            .outbox()
            .emails_for(&customer.activation_email())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(emails.len(), 3, "one activation per order: {emails:?}");
        store.close().await;
    }
);

both_databases!(
    ten_concurrent_checkouts_with_one_key_make_one_order,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let key = new_key();
        let body = checkout_request("card", &customer.activation_email());
        let replies =
            join_all((0..10).map(|_| app.check_out(&customer.token, &cart, &key, &body))).await;
        for reply in &replies {
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            assert_eq!(reply.body["id"], replies[0].body["id"], "{}", reply.text);
            assert_eq!(
                reply.body["number"], replies[0].body["number"],
                "{}",
                reply.text
            );
            assert_eq!(reply.body, replies[0].body);
        }
        assert_eq!(
            replies.iter().filter(|r| !replayed(r)).count(),
            1,
            "one ran, nine replayed"
        );
        let orders = app.get_as("/v1/orders", &customer.token).await;
        assert_eq!(
            orders.body["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            orders.text
        );

        // The key is bound to that request.
        let other = checkout_request("paypal", &customer.activation_email());
        let reply = app.check_out(&customer.token, &cart, &key, &other).await;
        problem(&reply, 422, "idempotency_key_reused");
        let later = app.check_out(&customer.token, &cart, &key, &body).await;
        assert_eq!(later.status, StatusCode::CREATED, "{}", later.text);
        assert!(replayed(&later));
        assert_eq!(later.body, replies[0].body);
    }
);

both_databases!(
    two_concurrent_purchases_of_one_addon_make_one_order,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;
        let customer_area =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let from_panel = json!({"payment_method": "card", "accept_terms": true});
        let (by_customer, by_panel) = futures_util::future::join(
            app.post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &fe.customer.token,
                &new_key(),
                &customer_area,
            ),
            app.post_keyed(
                "/v1/panel/addons/documenti/purchase",
                &panel,
                &new_key(),
                &from_panel,
            ),
        )
        .await;
        let (won, lost) = if by_customer.status == StatusCode::CREATED {
            (by_customer, by_panel)
        } else {
            (by_panel, by_customer)
        };
        assert_eq!(won.status, StatusCode::CREATED, "{}", won.text);
        assert_addon_refused(&lost);
        let orders = app.get_as("/v1/orders", &fe.customer.token).await;
        assert_eq!(
            orders.body["items"].as_array().map(Vec::len),
            Some(2),
            "FE and one add-on: {}",
            orders.text
        );
        assert_module(
            &app.service(&fe.customer, &fe.service_id).await,
            "documenti",
            "pending_payment",
            &[],
        );
    }
);

// --- services and add-on eligibility -----------------------------------------------------

both_databases!(
    incassi_pagamenti_bought_with_fe_cannot_be_bought_again,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let purchase = json!({"product_code": "incassi-pagamenti", "payment_method": "card", "accept_terms": true});
        let reply = app
            .post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &fe.customer.token,
                &new_key(),
                &purchase,
            )
            .await;
        let found = violations(&reply);
        assert_eq!(found.len(), 1, "{}", reply.text);
        assert!(
            found
                .iter()
                .all(|(code, _)| code == "addon_already_present"),
            "{}",
            reply.text
        );
        let panel = app.panel_of(&fe).await;
        let reply = app
            .post_keyed(
                "/v1/panel/addons/incassi-pagamenti/purchase",
                &panel,
                &new_key(),
                &json!({"payment_method": "card", "accept_terms": true}),
            )
            .await;
        assert!(
            violations(&reply)
                .iter()
                .all(|(code, _)| code == "addon_already_present"),
            "{}",
            reply.text
        );
        let orders = app.get_as("/v1/orders", &fe.customer.token).await;
        assert_eq!(
            orders.body["items"].as_array().map(Vec::len),
            Some(1),
            "{}",
            orders.text
        );
        // Unknown add-ons and bases are not add-ons to buy.
        let reply = app
            .post_keyed(
                "/v1/panel/addons/fe/purchase",
                &panel,
                &new_key(),
                &json!({"payment_method": "card", "accept_terms": true}),
            )
            .await;
        problem(&reply, 404, "product_not_found");
    }
);

both_databases!(
    an_addon_waiting_in_an_unpaid_order_cannot_be_bought_twice_until_cancelled,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;
        let body = json!({"payment_method": "bank_transfer", "accept_terms": true});
        let first = app
            .post_keyed(
                "/v1/panel/addons/documenti/purchase",
                &panel,
                &new_key(),
                &body,
            )
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let status = app.panel_status(&panel).await;
        assert_module(&status, "documenti", "pending_payment", &[]);

        let again = app
            .post_keyed(
                "/v1/panel/addons/documenti/purchase",
                &panel,
                &new_key(),
                &body,
            )
            .await;
        assert_addon_refused(&again);
        let from_customer_area = app.post_keyed(&format!("/v1/services/{}/addons", fe.service_id),
            &fe.customer.token,
            &new_key(),
            &json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true}),
        )
        .await;
        assert_addon_refused(&from_customer_area);

        // Cancelled, the add-on can be bought again.
        let id = first.body["id"].as_str().unwrap_or_default();
        let cancelled = app
            .post_as(
                &format!("/v1/orders/{id}/cancel"),
                &fe.customer.token,
                &json!({}),
            )
            .await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
        assert_module(
            &app.panel_status(&panel).await,
            "documenti",
            "available",
            &["purchase"],
        );
        let bought = app
            .post_keyed(
                "/v1/panel/addons/documenti/purchase",
                &panel,
                &new_key(),
                &body,
            )
            .await;
        assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
    }
);

both_databases!(
    an_expired_fe_shows_expired_and_takes_no_addons,
    |app| async move {
        // Paid by bank transfer 400 days ago: the year ran out 35 days ago.
        let operator = app.operator_token().await;
        let fe = app
            .customer_with_fe_paid_on(&operator, "01234567897", days_before(today(), 400))
            .await;
        assert!(fe.expires_on < today(), "{fe:?}");
        let purchase =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let reply = app
            .post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &fe.customer.token,
                &new_key(),
                &purchase,
            )
            .await;
        let found = violations(&reply);
        assert!(
            found.len() == 1
                && found
                    .iter()
                    .all(|(code, _)| code == "target_service_not_active"),
            "{}",
            reply.text
        );
        let view = app.service(&fe.customer, &fe.service_id).await;
        for code in ["documenti", "woocommerce", "spazio-1gb"] {
            assert_module(&view, code, "available", &[]);
        }
        assert_eq!(view["status"], "expired", "an FE past its expiry: {view}");
    }
);

both_databases!(
    an_addon_for_an_fe_ending_a_year_from_today_needs_no_extension,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        assert_eq!(fe.expires_on, years_after(today(), 1));
        let purchase =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let reply = app
            .post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &fe.customer.token,
                &new_key(),
                &purchase,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let order = reply.body;
        let [line] = lines(&order) else {
            panic!("one line expected: {order}");
        };
        assert_line(
            line,
            "documenti",
            "on_existing_base",
            "15.00",
            ["15.00", "3.30", "18.30"],
        );
        assert_eq!(line["ends_on"], fe.expires_on.to_string());
        assert_eq!(line["target_service_id"], fe.service_id.as_str());
        assert_totals(&order, "15.00", "3.30", "18.30");
        app.pay_by_card(&order).await;
        let view = app.service(&fe.customer, &fe.service_id).await;
        assert_eq!(view["expires_on"], fe.expires_on.to_string());
        assert_module(&view, "documenti", "purchased", &[]);
    }
);

both_databases!(
    without_co_termination_the_addon_is_charged_in_full_and_ends_with_the_fe,
    |app| async move {
        let operator = app.operator_token().await;
        let fe = app
            .customer_with_fe_paid_on(&operator, "01234567897", days_before(today(), 10))
            .await;
        let panel = app.panel_of(&fe).await;
        let body = json!({"payment_method": "card", "accept_terms": true, "extend_base": false});
        let reply = app
            .post_keyed(
                "/v1/panel/addons/spazio-1gb/purchase",
                &panel,
                &new_key(),
                &body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let order = reply.body;
        let [line] = lines(&order) else {
            panic!("one line expected: {order}");
        };
        assert_line(
            line,
            "spazio-1gb",
            "on_existing_base",
            "5.00",
            ["5.00", "1.10", "6.10"],
        );
        assert_eq!(line["ends_on"], fe.expires_on.to_string());
        app.pay_by_card(&order).await;
        let status = app.panel_status(&panel).await;
        assert_eq!(
            status["expires_on"],
            fe.expires_on.to_string(),
            "unchanged: {status}"
        );
    }
);

// --- case 2: an FE customer buys Incassi e pagamenti -------------------------------

/// Where case 2 starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryPoint {
    /// Customer area home: "Aggiungi modulo incassi e pagamenti".
    CustomerArea,
    /// Panel home, "Stato servizio": "Attiva".
    PanelAttiva,
    /// Android app: "Moduli aggiuntivi" → "Acquista".
    AndroidApp,
    /// Panel menu "Servizi aggiuntivi" → "Acquista".
    PanelMenu,
}

impl EntryPoint {
    fn channel(self) -> &'static str {
        match self {
            EntryPoint::CustomerArea => "customer_area",
            EntryPoint::PanelAttiva | EntryPoint::PanelMenu => "panel",
            EntryPoint::AndroidApp => "android_app",
        }
    }
}

/// Case 2 from `entry`, for a customer whose FE was bought (with
/// Incassi e pagamenti left out) and paid by bank transfer ten days ago.
async fn existing_customer_buys_incassi_pagamenti(
    app: &TestApp,
    entry: EntryPoint,
    partita_iva: &str,
) {
    // The FE, bought alone ten days ago and paid by bank transfer.
    let operator = app.operator_token().await;
    let customer = app.customer(partita_iva).await;
    let cart = app.create_cart("web").await;
    app.add(&cart, &json!({"product_code": "fe", "years": 1}))
        .await;
    let fe_order = app.place_order(&customer, &cart, "bank_transfer").await;
    let paid_on = days_before(today(), 10);
    let registered = app
        .register_payment(
            &operator,
            &fe_order,
            &new_key(),
            &transfer(&fe_order, paid_on),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let fe = app.owned_fe(customer, &fe_order).await;
    assert_eq!(fe.expires_on, years_after(paid_on, 1));
    let customer = &fe.customer;

    // The offer: I&P available, to purchase, on the customer area and the panel.
    let before = app.service(customer, &fe.service_id).await;
    assert_modules(&before, "available", &["purchase"]);
    let panel = match entry {
        EntryPoint::CustomerArea => None,
        _ => Some(app.panel_of(&fe).await),
    };
    if let Some(panel) = &panel {
        let status = app.panel_status(panel).await;
        assert_modules(&status, "available", &["purchase"]);
        if entry == EntryPoint::PanelMenu {
            // "Servizi aggiuntivi" lists every add-on of FE, each to buy.
            for code in FE_ADDONS {
                assert_module(&status, code, "available", &["purchase"]);
            }
        }
    }

    // "Acquista": co-termination is on by default.
    let key = new_key();
    let reply = match (entry, &panel) {
        (EntryPoint::CustomerArea, _) => {
            let body = json!({"product_code": "incassi-pagamenti", "payment_method": "card", "accept_terms": true});
            app.post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &customer.token,
                &key,
                &body,
            )
            .await
        }
        (_, Some(panel)) => {
            let path = match entry {
                EntryPoint::AndroidApp => {
                    "/v1/panel/addons/incassi-pagamenti/purchase?channel=android_app"
                }
                _ => "/v1/panel/addons/incassi-pagamenti/purchase",
            };
            let body = json!({"payment_method": "card", "accept_terms": true});
            app.post_keyed(path, panel, &key, &body).await
        }
        (_, None) => panic!("no panel session"),
    };
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let order = reply.body;
    assert_order_number(&order);
    assert_eq!(order["status"], "awaiting_payment");
    assert_eq!(order["channel"], entry.channel(), "{order}");
    assert_eq!(
        order["activation_email"],
        customer.email.as_str(),
        "{order}"
    );
    assert_eq!(order["holder"]["partita_iva"], partita_iva);

    // Two lines: I&P at its price for a full year, and the FE extended
    // pro rata so that both end a year from today.
    let full_year = years_after(today(), 1);
    let days = (full_year - fe.expires_on).num_days();
    assert!(days > 0, "the FE ends before a year from today");
    let [addon, extension] = lines(&order) else {
        panic!("two lines expected: {order}");
    };
    assert_line(
        addon,
        "incassi-pagamenti",
        "on_existing_base",
        "29.00",
        ["29.00", "6.38", "35.38"],
    );
    assert_eq!(addon["years"], 1);
    assert_eq!(addon["ends_on"], full_year.to_string());
    assert_eq!(addon["target_service_id"], fe.service_id.as_str());
    let net = half_up(2500 * days, 365);
    let vat = vat_of(net);
    assert_line(
        extension,
        "fe",
        "base_extension",
        "25.00",
        [&euro(net), &euro(vat), &euro(net + vat)],
    );
    assert_eq!(extension["days"], days, "{extension}");
    assert_eq!(extension["ends_on"], full_year.to_string());
    assert_eq!(extension["item_id"], addon["item_id"]);
    assert_eq!(extension["target_service_id"], fe.service_id.as_str());
    assert_eq!(
        extension["description"],
        format!(
            "Estensione Fatturazione Elettronica dal {} al {full_year} ({days} giorni)",
            fe.expires_on
        )
    );
    let total = 3538 + net + vat;
    assert_totals(&order, &euro(2900 + net), &euro(638 + vat), &euro(total));
    assert_eq!(order["payment_instructions"]["amount"], euro(total));

    // Until paid, the module waits for the payment and cannot be bought again.
    let pending = app.service(customer, &fe.service_id).await;
    assert_module(&pending, "incassi-pagamenti", "pending_payment", &[]);
    assert_eq!(pending["expires_on"], fe.expires_on.to_string());

    // Paid by card.
    app.pay_by_card(&order).await;
    let paid = app.read_order(customer, &order["id"]).await;
    assert_eq!(paid["status"], "fulfilled", "{paid}");
    assert_eq!(paid["lines"], order["lines"]);

    // The module waits for the FE to be configured (then "Abbina
    // anagrafiche e fatture" first: tests/tests/e2e/setup.rs); the FE ends
    // with it, a year from today.
    let after = app.service(customer, &fe.service_id).await;
    assert_eq!(after["expires_on"], full_year.to_string(), "{after}");
    assert_eq!(after["status"], "awaiting_configuration");
    assert_modules(&after, "purchased", &[]);
    assert_eq!(app.services(customer).await.len(), 1, "no new service");
    if let Some(panel) = &panel {
        let status = app.panel_status(panel).await;
        assert_eq!(status["expires_on"], full_year.to_string(), "{status}");
        assert_modules(&status, "purchased", &[]);
    }

    // The payment confirmation leads to the matching procedure.
    let mail = app.wait_for_mail(&customer.email).await;
    assert_eq!(
        mail.subject(),
        format!(
            "Conferma di pagamento – ordine n. {}",
            order["number"].as_str().unwrap_or_default()
        )
    );
    for expected in [
        "- Incassi e pagamenti".to_owned(),
        format!("attivi fino al {}", mail_date(full_year)),
        "\"Abbina anagrafiche e fatture\"".to_owned(),
    ] {
        assert!(
            mail.body.contains(&expected),
            "missing {expected:?} in:\n{}",
            mail.body
        );
    }
    assert!(!mail.body.contains("Password temporanea"), "{}", mail.body);
}

both_databases!(
    existing_customer_buys_incassi_pagamenti_from_the_customer_area,
    |app| async move {
        existing_customer_buys_incassi_pagamenti(app, EntryPoint::CustomerArea, "00743110157")
            .await;
    }
);

both_databases!(
    existing_customer_buys_incassi_pagamenti_with_attiva_in_the_panel,
    |app| async move {
        existing_customer_buys_incassi_pagamenti(app, EntryPoint::PanelAttiva, "12345678903").await;
    }
);

both_databases!(
    existing_customer_buys_incassi_pagamenti_from_the_android_app,
    |app| async move {
        existing_customer_buys_incassi_pagamenti(app, EntryPoint::AndroidApp, "00488410010").await;
    }
);

both_databases!(
    existing_customer_buys_incassi_pagamenti_from_the_panel_menu,
    |app| async move {
        existing_customer_buys_incassi_pagamenti(app, EntryPoint::PanelMenu, "07643520567").await;
    }
);

both_databases!(
    an_addon_purchase_replays_for_its_key_and_refuses_it_for_another_body,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let path = format!("/v1/services/{}/addons", fe.service_id);
        let key = new_key();
        let body =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let first = app.post_keyed(&path, &fe.customer.token, &key, &body).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let again = app.post_keyed(&path, &fe.customer.token, &key, &body).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
        assert!(replayed(&again));
        assert_eq!(again.body, first.body);
        let other =
            json!({"product_code": "documenti", "payment_method": "paypal", "accept_terms": true});
        problem(
            &app.post_keyed(&path, &fe.customer.token, &key, &other)
                .await,
            422,
            "idempotency_key_reused",
        );
        let keyless = app.post_as(&path, &fe.customer.token, &body).await;
        problem(&keyless, 400, "idempotency_key_required");
        let mut refused = body.clone();
        refused["accept_terms"] = json!(false);
        invalid_field(
            &app.post_keyed(&path, &fe.customer.token, &new_key(), &refused)
                .await,
            "/accept_terms",
            "terms_not_accepted",
        );
        let orders = app.get_as("/v1/orders", &fe.customer.token).await;
        assert_eq!(
            orders.body["items"].as_array().map(Vec::len),
            Some(2),
            "{}",
            orders.text
        );
    }
);

both_databases!(
    items_added_while_the_cart_is_checked_out_are_in_the_order_or_refused,
    |app| async move {
        let customer = app.customer(&partita_iva("0743110157")).await;
        let addons = ["incassi-pagamenti", "documenti", "spazio-1gb"];
        for round in 0..5 {
            let cart = app.create_cart("web").await;
            let (_, fe) = app
                .add(&cart, &json!({"product_code": "fe", "years": 1}))
                .await;
            let body = checkout_request("card", &customer.activation_email());
            let key = new_key();
            let items: Vec<Value> = addons
                .iter()
                .map(|code| json!({"product_code": code, "base_item_id": fe}))
                .collect();
            let additions = join_all(items.iter().map(|item| app.add_item(&cart, item)));
            let (replies, order) = tokio::join!(
                additions,
                app.check_out(&customer.token, &cart, &key, &body)
            );
            assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
            let ordered: BTreeSet<String> = order.body["lines"]
                .as_array()
                .unwrap_or_else(|| panic!("no lines: {}", order.text))
                .iter()
                .filter_map(|line| line["item_id"].as_str().map(str::to_owned))
                .collect();
            let mut expected = BTreeSet::from([fe.clone()]);
            for reply in &replies {
                match reply.status {
                    // Added before the checkout took the cart: in the order.
                    StatusCode::CREATED => {
                        let own = reply.body["items"]
                            .as_array()
                            .and_then(|items| items.last())
                            .and_then(|item| item["id"].as_str())
                            .unwrap_or_else(|| panic!("no item: {}", reply.text));
                        expected.insert(own.to_owned());
                    }
                    // Too late: refused, not silently dropped.
                    StatusCode::CONFLICT => {
                        assert_eq!(reply.body["code"], "cart_not_open", "{}", reply.text)
                    }
                    other => panic!("round {round}: addition got {other}: {}", reply.text),
                }
            }
            assert_eq!(ordered, expected, "round {round}: {}", order.text);
        }
    }
);

// --- hardening: control characters, strict amounts, review flags -----------------

/// `GET /v1/backoffice/orders?…` as the operator; asserts 200.
async fn backoffice_orders(app: &TestApp, operator: &str, query: &str) -> Value {
    let reply = app
        .get_as(&format!("/v1/backoffice/orders?{query}"), operator)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// The numbers of the orders of a page.
fn numbers(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|o| o["number"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts exactly one 422 `validation_failed` error: `control_character`
/// at `pointer`.
fn control_character_at(reply: &Reply, pointer: &str) {
    let body = problem(reply, 422, "validation_failed");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {}", reply.text));
    assert_eq!(errors.len(), 1, "{}", reply.text);
    assert_eq!(errors[0]["pointer"], pointer, "{}", reply.text);
    assert_eq!(errors[0]["code"], "control_character", "{}", reply.text);
    assert!(
        errors[0]["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        reply.text
    );
}

both_databases!(
    text_with_a_control_character_is_refused_naming_the_field,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let mut body = checkout_request("card", &customer.activation_email());
        let mut holder = company(&customer.partita_iva);
        holder["denominazione"] = json!("X\u{0}Y");
        body["holder"] = holder;
        let refused = app
            .check_out(&customer.token, &cart, &new_key(), &body)
            .await;
        control_character_at(&refused, "/holder/denominazione");
        let orders = app.get_as("/v1/orders", &customer.token).await;
        assert_eq!(orders.body["items"], json!([]), "{}", orders.text);

        // Logins, sign-up, carts: values and keys, NUL and the other C0
        // characters, wherever they are.
        let mut sign_up_holder = company("12345678903");
        sign_up_holder["address"]["comune"] = json!("Milano\r");
        let cases = [
            (
                "/v1/auth/customer/login",
                json!({"email": "a\u{0}@example.com", "password": PASSWORD}),
                "/email",
            ),
            (
                "/v1/auth/panel/login",
                json!({"username": "u\u{0}", "password": PASSWORD}),
                "/username",
            ),
            (
                "/v1/backoffice/login",
                json!({"username": OPERATOR, "password": "x\u{1b}y"}),
                "/password",
            ),
            (
                "/v1/customers",
                json!({"email": "b@example.com", "password": PASSWORD, "holder": sign_up_holder}),
                "/holder/address/comune",
            ),
            ("/v1/carts", json!({"channel\u{0}": "web"}), "/channel\u{0}"),
        ];
        for (path, body, pointer) in cases {
            control_character_at(&app.post_json(path, &body).await, pointer);
        }

        // The signed webhook and the operator's payment too.
        let order = app.place_order(&customer, &cart, "card").await;
        let mut event = paid_in_full("evt_nul", &order);
        event["provider_payment_id"] = json!("pi_\u{0}");
        control_character_at(&app.webhook(&event).await, "/provider_payment_id");
        let mut event = paid_in_full("evt_\u{8}", &order);
        event["provider_payment_id"] = json!("pi_1");
        control_character_at(&app.webhook(&event).await, "/id");
        let operator = app.operator_token().await;
        let mut body = transfer(&order, today());
        body["reference"] = json!("CRO\u{0}1");
        let reply = app
            .register_payment(&operator, &order, &new_key(), &body)
            .await;
        control_character_at(&reply, "/reference");
        let unchanged = app.read_order(&customer, &order["id"]).await;
        assert_eq!(unchanged["status"], "awaiting_payment", "{unchanged}");
        assert_eq!(unchanged["payments"], json!([]), "{unchanged}");

        // Tab and newline are text.
        let mut body = transfer(&order, today());
        body["reference"] = json!("CRO\t1234\n5678");
        let reply = app
            .register_payment(&operator, &order, &new_key(), &body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["status"], "fulfilled", "{}", reply.text);
        assert_eq!(
            reply.body["payments"][0]["reference"], "CRO\t1234\n5678",
            "{}",
            reply.text
        );
    }
);

both_databases!(
    amounts_are_read_only_as_the_contract_spells_them,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        assert_eq!(order["totals"]["total"], "30.50", "{order}");
        let loose = [
            "3.05e1",
            " 30.50",
            "+30.50",
            "0030.50",
            "30.500",
            "30.50000000000000000000000000000001",
            "30.50 ",
            "30.",
            "99999999999999999999999999999999999999999999.00",
        ];
        for (n, amount) in loose.iter().enumerate() {
            let event = payment_succeeded(&format!("evt_loose_{n}"), &order, amount);
            let reply = app.webhook(&event).await;
            invalid_field(&reply, "/amount", "invalid_amount");
        }
        let unchanged = app.read_order(&customer, &order["id"]).await;
        assert_eq!(unchanged["status"], "awaiting_payment", "{unchanged}");
        assert_eq!(unchanged["flagged_for_review"], false, "{unchanged}");
        assert_eq!(unchanged["amount_received"], "0.00", "{unchanged}");

        let operator = app.operator_token().await;
        for amount in ["3.05e1", "30.500", "-30.50", "30,50"] {
            let body = json!({"amount": amount, "reference": "CRO 1"});
            let reply = app
                .register_payment(&operator, &order, &new_key(), &body)
                .await;
            invalid_field(&reply, "/amount", "invalid_amount");
        }
        let unchanged = app.read_order(&customer, &order["id"]).await;
        assert_eq!(unchanged["status"], "awaiting_payment", "{unchanged}");
        assert_eq!(unchanged["payments"], json!([]), "{unchanged}");

        // The contract's spelling pays.
        assert_outcome(
            &app.webhook(&payment_succeeded("evt_exact", &order, "30.50"))
                .await,
            "fulfilled",
            &order,
        );
    }
);

both_databases!(
    a_later_payment_keeps_the_review_flag_and_every_payment_is_shown,
    |app| async move {
        let customer = app.customer("01234567897").await;
        let (cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let order = app.place_order(&customer, &cart, "card").await;
        assert_eq!(order["totals"]["total"], "30.50", "{order}");
        let short = app
            .webhook(&payment_succeeded("evt_short", &order, "1.00"))
            .await;
        assert_outcome(&short, "flagged_for_review", &order);
        let full = app
            .webhook(&payment_succeeded("evt_full", &order, "30.50"))
            .await;
        assert_outcome(&full, "fulfilled", &order);

        let seen = app.read_order(&customer, &order["id"]).await;
        assert_eq!(seen["status"], "fulfilled", "{seen}");
        assert_eq!(seen["flagged_for_review"], true, "{seen}");
        assert_eq!(order["payments"], json!([]), "none at checkout: {order}");
        assert_eq!(order["amount_received"], "0.00", "{order}");
        assert_eq!(seen["review_reason"], Value::Null, "operators only: {seen}");
        assert_eq!(seen["amount_received"], "31.50", "{seen}");
        let payments = seen["payments"]
            .as_array()
            .unwrap_or_else(|| panic!("no payments: {seen}"));
        assert_eq!(payments.len(), 2, "{seen}");
        for (payment, (amount, reference)) in payments
            .iter()
            .zip([("1.00", "pi_evt_short"), ("30.50", "pi_evt_full")])
        {
            assert_eq!(payment["amount"], amount, "{seen}");
            assert_eq!(payment["currency"], "EUR", "{seen}");
            assert_eq!(payment["source"], "webhook", "{seen}");
            assert_eq!(payment["reference"], reference, "{seen}");
            timestamp(&payment["paid_at"]);
            timestamp(&payment["received_at"]);
        }

        // The operator sees it among the flagged orders, with the reason,
        // until they clear it.
        let operator = app.operator_token().await;
        let someone_else = app.customer(&partita_iva("1234567890")).await;
        let (other_cart, _, _) = app.fe_with_incassi_pagamenti("web", 1).await;
        let other = app.place_order(&someone_else, &other_cart, "card").await;
        let flagged = backoffice_orders(app, &operator, "flagged=true").await;
        assert_eq!(numbers(&flagged), [seen["number"].clone()], "{flagged}");
        assert_eq!(flagged["next_cursor"], Value::Null, "{flagged}");
        let reason = flagged["items"][0]["review_reason"]
            .as_str()
            .unwrap_or_default();
        assert!(reason.contains("100 cents"), "{flagged}");
        assert_eq!(flagged["items"][0]["amount_received"], "31.50", "{flagged}");
        let unflagged = backoffice_orders(app, &operator, "flagged=false").await;
        assert_eq!(
            numbers(&unflagged),
            [other["number"].clone()],
            "{unflagged}"
        );
        let all = backoffice_orders(app, &operator, "limit=1").await;
        assert_eq!(numbers(&all).len(), 1, "{all}");
        let cursor = all["next_cursor"].as_str().unwrap_or_default().to_owned();
        let rest = backoffice_orders(app, &operator, &format!("limit=1&cursor={cursor}")).await;
        assert_eq!(numbers(&rest).len(), 1, "{rest}");

        let id = order["id"].as_str().unwrap_or_default();
        let cleared = app
            .post_as(
                &format!("/v1/backoffice/orders/{id}/review/clear"),
                &operator,
                &json!({}),
            )
            .await;
        assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
        assert_eq!(
            cleared.body["flagged_for_review"], false,
            "{}",
            cleared.text
        );
        assert_eq!(
            cleared.body["review_reason"],
            Value::Null,
            "{}",
            cleared.text
        );
        assert_eq!(cleared.body["amount_received"], "31.50", "{}", cleared.text);
        let flagged = backoffice_orders(app, &operator, "flagged=true").await;
        assert_eq!(flagged["items"], json!([]), "{flagged}");
        let customer_view = app.read_order(&customer, &order["id"]).await;
        assert_eq!(
            customer_view["flagged_for_review"], false,
            "{customer_view}"
        );
        let customer_only = app
            .get_as("/v1/backoffice/orders?flagged=true", &customer.token)
            .await;
        problem(&customer_only, 403, "wrong_audience");
    }
);

/// Runs SQL on the test's database (arranging what no API creates).
async fn execute(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(app.database.url.as_str())
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = db.close().await;
}

both_databases!(
    a_fulfilment_that_keeps_failing_records_the_payment_and_flags_the_order,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let purchase =
            json!({"product_code": "documenti", "payment_method": "card", "accept_terms": true});
        let bought = app
            .post_keyed(
                &format!("/v1/services/{}/addons", fe.service_id),
                &fe.customer.token,
                &new_key(),
                &purchase,
            )
            .await;
        assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
        let order = bought.body;
        // Arranged below the API: the service got the module some other
        // way meanwhile, so writing it again breaks a unique constraint —
        // a failure no redelivery cures.
        let fe_order = app.get_as("/v1/orders", &fe.customer.token).await.body["items"][1]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let module_id = uuid::Uuid::new_v4();
        execute(
            app,
            &format!(
                "INSERT INTO modules (id, service_id, product_code, state, bought_with_base, order_id, created_at, updated_at) \
                 VALUES ('{module_id}', '{}', 'documenti', 'purchased', false, '{fe_order}', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')",
                fe.service_id
            ),
        )
        .await;

        let event = paid_in_full("evt_unfulfillable", &order);
        assert_outcome(&app.webhook(&event).await, "flagged_for_review", &order);
        assert_outcome(&app.webhook(&event).await, "duplicate", &order);
        let seen = app.read_order(&fe.customer, &order["id"]).await;
        assert_eq!(seen["status"], "paid", "{seen}");
        assert_eq!(seen["flagged_for_review"], true, "{seen}");
        assert!(seen["paid_at"].is_string(), "{seen}");
        assert_eq!(seen["fulfilled_at"], Value::Null, "{seen}");
        assert_eq!(seen["amount_received"], order["totals"]["total"], "{seen}");
        assert_eq!(seen["payments"].as_array().map(Vec::len), Some(1), "{seen}");
        assert_eq!(seen["review_reason"], Value::Null, "operators only: {seen}");

        // The operator finds it, retries in vain, repairs, retries.
        let operator = app.operator_token().await;
        let flagged = backoffice_orders(app, &operator, "flagged=true").await;
        assert_eq!(numbers(&flagged), [order["number"].clone()], "{flagged}");
        let reason = flagged["items"][0]["review_reason"]
            .as_str()
            .unwrap_or_default();
        assert!(reason.contains("fulfilment failed"), "{flagged}");
        let id = order["id"].as_str().unwrap_or_default();
        let retry_path = format!("/v1/backoffice/orders/{id}/fulfilment/retry");
        let again = app.post_as(&retry_path, &operator, &json!({})).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.body["status"], "paid", "{}", again.text);
        assert_eq!(again.body["flagged_for_review"], true, "{}", again.text);
        let reason = again.body["review_reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("fulfilment retry failed"),
            "{}",
            again.text
        );

        execute(
            app,
            &format!("DELETE FROM modules WHERE id = '{module_id}'"),
        )
        .await;
        let done = app.post_as(&retry_path, &operator, &json!({})).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(done.body["status"], "fulfilled", "{}", done.text);
        assert_eq!(
            done.body["flagged_for_review"], true,
            "until cleared: {}",
            done.text
        );
        assert_eq!(
            done.body["payments"].as_array().map(Vec::len),
            Some(1),
            "{}",
            done.text
        );
        assert_module(
            &app.service(&fe.customer, &fe.service_id).await,
            "documenti",
            "purchased",
            &[],
        );
        let twice = app.post_as(&retry_path, &operator, &json!({})).await;
        problem(&twice, 409, "order_not_retryable");
        let unknown = app
            .post_as(
                &format!(
                    "/v1/backoffice/orders/{}/fulfilment/retry",
                    uuid::Uuid::new_v4()
                ),
                &operator,
                &json!({}),
            )
            .await;
        problem(&unknown, 404, "order_not_found");
    }
);
