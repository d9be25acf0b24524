//! The steps of the user's story as methods of [`TestApp`], so that a test
//! reads like the help page it follows: a customer signs up
//! ([`TestApp::customer`]), fills a cart ([`TestApp::fe_with_incassi_pagamenti`],
//! [`TestApp::add`]), checks out ([`TestApp::place_order`]), pays by the
//! provider's signed webhook ([`TestApp::pay_by_card`]), reads the activation
//! email ([`TestApp::activation_mail`]) and logs in to the panel for the first
//! time ([`TestApp::first_panel_login`]); an operator logs in to the back
//! office ([`TestApp::operator_token`]). [`TestApp::customer_with_fe`] is
//! the whole of case 1 (an FE bought and paid), [`TestApp::panel_of`] its
//! owner past the first panel login.
//!
//! Each step asserts what must hold for the story to go on (a 201, a
//! token), so a test asserts only what it is about.

use crate::{Mail, Reply, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::prelude::ChronoDate;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The webhook key of a development server (`ATTIVA_PAYMENT_WEBHOOK_SECRETS`).
pub const WEBHOOK_SECRET: &str = "dev-webhook-secret";
/// A customer-area password that meets the policy.
pub const PASSWORD: &str = "una frase lunga e segreta";
/// What a panel user chooses at the first login.
pub const CHOSEN: &str = "la mia nuova password del pannello";
/// The operator of [`TestApp::operator_token`].
pub const OPERATOR: &str = "alice";
pub const OPERATOR_PASSWORD: &str = "a long operator password 42";
pub const ACTIVATION_SUBJECT: &str =
    "Attivazione Fatturazione Elettronica – credenziali di accesso";

/// The FatturaPA fixtures (`tests/fixtures/fatturapa/`, with their
/// READMEs: where each file comes from and what it holds).
pub fn fatturapa_fixture(path: &str) -> Vec<u8> {
    let file = crate::repo_root()
        .join("tests/fixtures/fatturapa")
        .join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `bytes` with every `from` replaced by `to`, which has the same length
/// (so a DER `.p7m` keeps its lengths); asserts `from` was there. The
/// official samples' ids fail the check digits, so a test puts its
/// service's Partita IVA into a copy of the file this way.
pub fn patched(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "{from} → {to} changes the length");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut found = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            found += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    assert!(
        found > 0,
        "{} is not in the file",
        String::from_utf8_lossy(from)
    );
    out
}

/// A cart: (id, token).
pub type Cart = (String, String);

/// A customer-area account holding one company, logged in.
#[derive(Debug, Clone)]
pub struct Customer {
    pub email: String,
    pub token: String,
    pub partita_iva: String,
}

impl Customer {
    /// Where this customer wants the activation email of a new FE.
    pub fn activation_email(&self) -> String {
        format!("attivazione-{}@example.com", self.partita_iva)
    }
}

/// The username and temporary password an activation email gives.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub temporary_password: String,
}

pub fn unix_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// A fresh `Idempotency-Key`.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether the answer was replayed from an earlier `Idempotency-Key`.
pub fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

/// Asserts an RFC 9457 problem with this status and code, a `type` and a
/// `detail`; returns its body.
pub fn problem<'a>(reply: &'a Reply, status: u16, code: &str) -> &'a Value {
    let body = reply.assert_problem(status, code);
    assert_eq!(
        body["type"],
        format!("urn:attiva:problem:{code}"),
        "{}",
        reply.text
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty()),
        "no detail: {}",
        reply.text
    );
    body
}

pub fn address() -> Value {
    json!({
        "indirizzo": "Via Roma", "numero_civico": "1", "cap": "20121",
        "comune": "Milano", "provincia": "MI", "nazione": "IT"
    })
}

/// A persona giuridica whose Codice Fiscale is its Partita IVA.
pub fn company(partita_iva: &str) -> Value {
    json!({
        "kind": "persona_giuridica",
        "denominazione": "Alfa S.r.l.",
        "codice_fiscale": partita_iva,
        "partita_iva": partita_iva,
        "address": address()
    })
}

/// The body of a checkout that accepts the terms.
pub fn checkout_request(payment_method: &str, activation_email: &str) -> Value {
    json!({
        "payment_method": payment_method,
        "accept_terms": true,
        "activation_email": activation_email
    })
}

/// A provider event paying `amount` for the order.
pub fn payment_succeeded(event_id: &str, order: &Value, amount: &str) -> Value {
    json!({
        "id": event_id,
        "type": "payment.succeeded",
        "order_number": order["number"],
        "amount": amount,
        "currency": "EUR",
        "provider_payment_id": format!("pi_{event_id}")
    })
}

/// The provider event paying the order's total.
pub fn paid_in_full(event_id: &str, order: &Value) -> Value {
    payment_succeeded(
        event_id,
        order,
        order["totals"]["total"].as_str().unwrap_or_default(),
    )
}

/// Asserts the webhook's answer: 200 with this outcome for the order.
pub fn assert_outcome(reply: &Reply, outcome: &str, order: &Value) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"outcome": outcome, "order_number": order["number"]}),
        "{}",
        reply.text
    );
}

/// A customer who bought FE with Incassi e pagamenti (case 1) and has it.
#[derive(Debug, Clone)]
pub struct OwnedFe {
    pub customer: Customer,
    pub service_id: String,
    pub expires_on: ChronoDate,
}

/// An ISO date (`2026-12-31`).
pub fn date(text: &str) -> ChronoDate {
    ChronoDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("not an ISO date {text:?}: {e}"))
}

/// The ISO date a JSON string holds.
pub fn date_of(value: &Value) -> ChronoDate {
    date(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a date: {value}")),
    )
}

/// A bank transfer for the order's total with this value date.
pub fn transfer(order: &Value, paid_on: ChronoDate) -> Value {
    json!({
        "amount": order["totals"]["total"],
        "paid_on": paid_on.to_string(),
        "reference": "CRO 1234567890"
    })
}

/// The rest of the body line that starts with `label`.
pub fn line_after(body: &str, label: &str) -> String {
    body.lines()
        .find_map(|line| line.strip_prefix(label))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{body}"))
}

/// The FE wizard's steps, in order.
pub const SETUP_STEPS: [&str; 5] = [
    "cedente_prestatore",
    "regime_fiscale",
    "cassa_previdenziale",
    "preferenze_documento",
    "avvisi",
];

/// A valid `cedente_prestatore` body: an azienda in Milano with contatti
/// and REA (the tax ids are left out: they are the holder's).
pub fn cedente_prestatore() -> Value {
    json!({
        "tipo_attivita": "azienda",
        "denominazione": "Alfa S.r.l.",
        "sede": address(),
        "contatti": {"telefono": "+39 02 1234567", "email": "amministrazione@alfa.example", "pec": "alfa@pec.example"},
        "rea": {"ufficio": "MI", "numero_rea": "MI-1234567", "capitale_sociale": "10000.00", "socio_unico": "SM", "stato_liquidazione": "LN"}
    })
}

/// A valid `regime_fiscale` body: ordinario, IVA immediata.
pub fn regime_fiscale() -> Value {
    json!({"regime_fiscale": "RF01", "esigibilita_iva": "immediata"})
}

/// A valid `cassa_previdenziale` body: one cassa (INPS gestione separata).
pub fn cassa_previdenziale() -> Value {
    json!({"casse": [{
        "tipo_cassa": "TC22", "aliquota": "4.00", "imponibile_percentuale": "100.00",
        "aliquota_iva": "22.00", "ritenuta": false
    }]})
}

/// A valid `preferenze_documento` body: fattura, prices without IVA.
pub fn preferenze_documento() -> Value {
    json!({"tipo_documento": "TD01", "prezzi": "netti"})
}

/// A valid `avvisi` body: SdI notifications by PEC, received invoices by email.
pub fn avvisi() -> Value {
    json!({
        "notifiche_sdi": {"canale": "pec", "indirizzo": "alfa@pec.example"},
        "fatture_ricevute": {"canale": "email", "indirizzo": "amministrazione@alfa.example"}
    })
}

/// A valid body for each step of [`SETUP_STEPS`].
pub fn setup_body(step: &str) -> Value {
    match step {
        "cedente_prestatore" => cedente_prestatore(),
        "regime_fiscale" => regime_fiscale(),
        "cassa_previdenziale" => cassa_previdenziale(),
        "preferenze_documento" => preferenze_documento(),
        "avvisi" => avvisi(),
        other => panic!("no step {other}"),
    }
}

impl TestApp {
    // --- requests with a token ---

    /// A GET with a bearer token.
    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::GET, path).bearer_auth(token))
            .await
    }

    /// A POST of a JSON body with a bearer token.
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// A POST with a bearer token and an `Idempotency-Key`.
    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: &Value) -> Reply {
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(body),
        )
        .await
    }

    // --- customers ---

    /// `POST /v1/customers`; asserts 201 and returns the account.
    pub async fn sign_up(&self, email: &str, password: &str, holder: &Value) -> Value {
        let reply = self
            .post_json(
                "/v1/customers",
                &json!({"email": email, "password": password, "holder": holder}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "sign-up of {email}: {}",
            reply.text
        );
        reply.body
    }

    /// `POST /v1/auth/customer/login`.
    pub async fn customer_login(&self, email: &str, password: &str) -> Reply {
        self.post_json(
            "/v1/auth/customer/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A company signs up (`cliente-<partita IVA>@example.com`, [`PASSWORD`])
    /// and logs in.
    pub async fn customer(&self, partita_iva: &str) -> Customer {
        let email = format!("cliente-{partita_iva}@example.com");
        self.sign_up(&email, PASSWORD, &company(partita_iva)).await;
        let login = self.customer_login(&email, PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "login: {}", login.text);
        let token = login.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {}", login.text))
            .to_owned();
        Customer {
            email,
            token,
            partita_iva: partita_iva.to_owned(),
        }
    }

    // --- carts and checkout ---

    /// Adds an item that must be accepted; returns the cart and the item's id.
    pub async fn add(&self, cart: &Cart, item: &Value) -> (Value, String) {
        let reply = self.add_item(cart, item).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "adding {item}: {}",
            reply.text
        );
        let id = reply.body["items"]
            .as_array()
            .and_then(|items| items.last())
            .and_then(|last| last["id"].as_str())
            .unwrap_or_else(|| panic!("no item after adding {item}: {}", reply.text))
            .to_owned();
        (reply.body, id)
    }

    /// An anonymous cart with FE for `years` and, "Aggiungi al carrello",
    /// Incassi e pagamenti with it; returns the cart and the two item ids.
    pub async fn fe_with_incassi_pagamenti(
        &self,
        channel: &str,
        years: u32,
    ) -> (Cart, String, String) {
        let cart = self.create_cart(channel).await;
        let (_, fe) = self
            .add(&cart, &json!({"product_code": "fe", "years": years}))
            .await;
        let (_, ip) = self
            .add(
                &cart,
                &json!({"product_code": "incassi-pagamenti", "base_item_id": fe}),
            )
            .await;
        (cart, fe, ip)
    }

    /// `POST /v1/carts/{id}/checkout` with the cart's token.
    pub async fn check_out(&self, token: &str, cart: &Cart, key: &str, body: &Value) -> Reply {
        self.send(
            self.request(Method::POST, &format!("/v1/carts/{}/checkout", cart.0))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .header("x-cart-token", &cart.1)
                .json(body),
        )
        .await
    }

    /// Checks a cart out; asserts the order was placed and returns it.
    pub async fn place_order(
        &self,
        customer: &Customer,
        cart: &Cart,
        payment_method: &str,
    ) -> Value {
        let reply = self
            .check_out(
                &customer.token,
                cart,
                &new_key(),
                &checkout_request(payment_method, &customer.activation_email()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "checkout: {}",
            reply.text
        );
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert!(!replayed(&reply), "a first checkout is not a replay");
        assert_eq!(reply.body["status"], "awaiting_payment", "{}", reply.text);
        reply.body
    }

    // --- payments ---

    /// `POST /v1/payments/webhook` with this raw body and signature header.
    pub async fn webhook_raw(&self, body: &str, signature: Option<&str>) -> Reply {
        let mut request = self
            .request(Method::POST, "/v1/payments/webhook")
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("payment-signature", signature);
        }
        self.send(request).await
    }

    /// The provider's webhook, honestly signed now.
    pub async fn webhook(&self, event: &Value) -> Reply {
        let body = event.to_string();
        let signature = api::payments::sign(WEBHOOK_SECRET, unix_now(), body.as_bytes());
        self.webhook_raw(&body, Some(&signature)).await
    }

    /// The card payment arrives: the provider's webhook for the total.
    pub async fn pay_by_card(&self, order: &Value) {
        let reply = self
            .webhook(&paid_in_full(&format!("evt_{}", new_key()), order))
            .await;
        assert_outcome(&reply, "fulfilled", order);
    }

    // --- operators ---

    /// Creates an operator as `attiva operator create` does, and logs in.
    pub async fn operator_login(&self, username: &str, password: &str) -> Reply {
        api::backoffice::operators::create(&self.settings(), username, password)
            .await
            .unwrap_or_else(|e| panic!("creating operator {username}: {e:#}"));
        self.post_json(
            "/v1/backoffice/login",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// The operator [`OPERATOR`], created and logged in; its access token.
    pub async fn operator_token(&self) -> String {
        let reply = self.operator_login(OPERATOR, OPERATOR_PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["audience"], "backoffice", "{}", reply.text);
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    // --- the activation email and the panel ---

    /// Waits for the activation email to `recipient`; returns it and its
    /// credentials.
    pub async fn activation_mail(&self, recipient: &str) -> (Mail, Credentials) {
        let mail = self.wait_for_mail(recipient).await;
        assert_eq!(mail.subject(), ACTIVATION_SUBJECT, "{mail:?}");
        let credentials = Credentials {
            username: line_after(&mail.body, "Nome utente:"),
            temporary_password: line_after(&mail.body, "Password temporanea:"),
        };
        (mail, credentials)
    }

    /// `POST /v1/auth/panel/login`.
    pub async fn panel_login(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/v1/auth/panel/login",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// `POST /v1/panel/password` with this token.
    pub async fn change_panel_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
        confirmation: &str,
    ) -> Reply {
        self.post_as(
            "/v1/panel/password",
            token,
            &json!({"current_password": current, "new_password": new, "new_password_confirmation": confirmation}),
        )
        .await
    }

    /// The first panel login: the temporary password opens only the
    /// password change (to [`CHOSEN`]), which opens the panel; returns the
    /// panel access token.
    pub async fn first_panel_login(&self, credentials: &Credentials) -> String {
        let login = self
            .panel_login(&credentials.username, &credentials.temporary_password)
            .await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.text);
        assert_eq!(
            login.body["password_change_required"], true,
            "{}",
            login.text
        );
        assert!(login.body.get("refresh_token").is_none(), "{}", login.text);
        let restricted = login.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        problem(
            &self.get_as("/v1/panel/status", &restricted).await,
            403,
            "password_change_required",
        );
        let changed = self
            .change_panel_password(&restricted, &credentials.temporary_password, CHOSEN, CHOSEN)
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        assert_eq!(
            changed.body["password_change_required"], false,
            "{}",
            changed.text
        );
        assert_eq!(changed.body["audience"], "panel", "{}", changed.text);
        changed.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    // --- what a customer owns ---

    pub async fn read_order(&self, customer: &Customer, order_id: &Value) -> Value {
        let id = order_id.as_str().unwrap_or_default();
        let reply = self
            .get_as(&format!("/v1/orders/{id}"), &customer.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "order {id}: {}", reply.text);
        reply.body
    }

    pub async fn services(&self, customer: &Customer) -> Vec<Value> {
        let reply = self.get_as("/v1/services", &customer.token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["next_cursor"], Value::Null, "{}", reply.text);
        reply.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no items: {}", reply.text))
    }

    pub async fn service(&self, customer: &Customer, service_id: &str) -> Value {
        let reply = self
            .get_as(&format!("/v1/services/{service_id}"), &customer.token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    pub async fn owned_fe(&self, customer: Customer, order: &Value) -> OwnedFe {
        let paid = self.read_order(&customer, &order["id"]).await;
        assert_eq!(paid["status"], "fulfilled", "{paid}");
        let service_id = paid["service_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no service: {paid}"))
            .to_owned();
        let fe = self.service(&customer, &service_id).await;
        OwnedFe {
            customer,
            service_id,
            expires_on: date_of(&fe["expires_on"]),
        }
    }

    /// Case 1 paid by card today: the FE ends a year from today.
    pub async fn customer_with_fe(&self, partita_iva: &str) -> OwnedFe {
        let customer = self.customer(partita_iva).await;
        let (cart, _, _) = self.fe_with_incassi_pagamenti("web", 1).await;
        let order = self.place_order(&customer, &cart, "card").await;
        self.pay_by_card(&order).await;
        self.owned_fe(customer, &order).await
    }

    /// Case 1 paid by bank transfer with value date `paid_on`, registered by
    /// the operator: the FE ends a year after `paid_on`.
    pub async fn customer_with_fe_paid_on(
        &self,
        operator: &str,
        partita_iva: &str,
        paid_on: ChronoDate,
    ) -> OwnedFe {
        let customer = self.customer(partita_iva).await;
        let (cart, _, _) = self.fe_with_incassi_pagamenti("web", 1).await;
        let order = self.place_order(&customer, &cart, "bank_transfer").await;
        let reply = self
            .register_payment(operator, &order, &new_key(), &transfer(&order, paid_on))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        self.owned_fe(customer, &order).await
    }

    /// `POST /v1/backoffice/orders/{id}/payments`.
    pub async fn register_payment(
        &self,
        operator: &str,
        order: &Value,
        key: &str,
        body: &Value,
    ) -> Reply {
        let id = order["id"].as_str().unwrap_or_default();
        self.post_keyed(
            &format!("/v1/backoffice/orders/{id}/payments"),
            operator,
            key,
            body,
        )
        .await
    }

    /// The owner of an FE in the panel, past the first login.
    pub async fn panel_of(&self, fe: &OwnedFe) -> String {
        let (_, credentials) = self.activation_mail(&fe.customer.activation_email()).await;
        self.first_panel_login(&credentials).await
    }

    pub async fn panel_status(&self, panel: &str) -> Value {
        let reply = self.get_as("/v1/panel/status", panel).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    // --- the FE configuration wizard ---

    /// A PUT of a JSON body with a bearer token.
    pub async fn put_as(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.request(Method::PUT, path)
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// `GET /v1/panel/setup`; asserts 200 and returns the wizard.
    pub async fn setup(&self, panel: &str) -> Value {
        let reply = self.get_as("/v1/panel/setup", panel).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body
    }

    /// `PUT /v1/panel/setup/steps/{step}`.
    pub async fn save_step(&self, panel: &str, step: &str, body: &Value) -> Reply {
        self.put_as(&format!("/v1/panel/setup/steps/{step}"), panel, body)
            .await
    }

    /// `POST /v1/panel/setup/complete`.
    pub async fn complete_setup(&self, panel: &str) -> Reply {
        self.post_as("/v1/panel/setup/complete", panel, &json!({}))
            .await
    }

    /// The whole FE wizard: every step saved with its valid body, then
    /// completed; asserts the service is active and returns the wizard.
    pub async fn configure_fe(&self, panel: &str) -> Value {
        for step in SETUP_STEPS {
            let saved = self.save_step(panel, step, &setup_body(step)).await;
            assert_eq!(saved.status, StatusCode::OK, "{step}: {}", saved.text);
        }
        let done = self.complete_setup(panel).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(done.body["status"], "completed", "{}", done.text);
        assert_eq!(done.body["service_status"], "active", "{}", done.text);
        done.body
    }

    /// Case 1 up to an active service: an FE bought and paid by the holder
    /// `partita_iva`, the first panel login, the whole wizard; returns the
    /// panel access token.
    pub async fn configured_panel(&self, partita_iva: &str) -> String {
        let fe = self.customer_with_fe(partita_iva).await;
        let panel = self.panel_of(&fe).await;
        self.configure_fe(&panel).await;
        panel
    }
}

/// A download read whole: status, headers, bytes.
#[derive(Debug)]
pub struct Download {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    // --- invoices ---

    /// `POST /v1/panel/invoices/import` of `bytes` sent as `content_type`.
    pub async fn import_invoice(&self, panel: &str, bytes: Vec<u8>, content_type: &str) -> Reply {
        self.send(
            self.request(Method::POST, "/v1/panel/invoices/import")
                .bearer_auth(panel)
                .header("content-type", content_type)
                .body(bytes),
        )
        .await
    }

    /// An import that must create invoices (201); returns the ids of the
    /// file's invoices, in the order of its bodies.
    pub async fn import_new(&self, panel: &str, bytes: Vec<u8>, content_type: &str) -> Vec<String> {
        let reply = self.import_invoice(panel, bytes, content_type).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let file = &reply.body["files"][0];
        assert_eq!(file["status"], "imported", "{}", reply.text);
        file["invoices"]
            .as_array()
            .unwrap_or_else(|| panic!("no invoices: {}", reply.text))
            .iter()
            .map(|i| {
                assert_eq!(i["status"], "imported", "{}", reply.text);
                i["id"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    /// `GET /v1/panel/invoices?{query}`; asserts 200.
    pub async fn invoices(&self, panel: &str, query: &str) -> Value {
        let reply = self
            .get_as(&format!("/v1/panel/invoices?{query}"), panel)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
        reply.body
    }

    /// `GET /v1/panel/invoices/{id}`; asserts 200.
    pub async fn invoice(&self, panel: &str, id: &str) -> Value {
        let reply = self
            .get_as(&format!("/v1/panel/invoices/{id}"), panel)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{id}: {}", reply.text);
        reply.body
    }

    /// A GET with a bearer token whose body is bytes.
    pub async fn download(&self, path: &str, token: &str) -> Download {
        let response = self
            .request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("reading {path}: {e}"))
            .to_vec();
        Download {
            status,
            headers,
            bytes,
        }
    }
}
