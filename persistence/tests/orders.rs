//! Orders and carts read back from real databases (a fresh SQLite file and
//! a fresh PostgreSQL database each): the columns map to the domain's
//! states and back, and a value the code does not know — written by hand,
//! or by another version — is [`StoreError::Corrupt`], never a default.

use chrono::{Duration, NaiveDate, Utc};
use domain::holder::AddressInput;
use domain::{Channel, OrderStatus, PaymentMethod, PaymentSource, PriceContext};
use domain::{Holder, HolderInput};
use persistence::cart::NewCart;
use persistence::identity::NewCustomer;
use persistence::order::{
    Fulfilment, NewFulfilledService, NewOrder, OrderLineRecord, OrderRecord, PaymentInput,
    PaymentOutcome,
};
use persistence::{Database, StoreError, StoreResult};
use sea_orm::ConnectionTrait;
use std::fmt::Debug;
use uuid::Uuid;

// --- harness ---

mod common;
use common::Must;

/// The database, and its URL for a connection of our own that writes what
/// the repositories never would.
struct Scenario {
    db: Database,
    url: String,
}

impl common::FromTestDatabase for Scenario {
    fn from_test_database(db: Database, url: String) -> Self {
        Scenario { db, url }
    }
}

both_databases!(
    an_order_reads_back_as_placed,
    an_unknown_order_status_is_corrupt_not_a_default,
    an_unknown_method_channel_or_context_is_corrupt,
    an_unknown_cart_status_is_corrupt,
    a_stored_holder_that_no_longer_parses_is_corrupt,
    another_amount_is_kept_and_flagged_and_its_event_is_not_paid_twice,
    a_holder_who_has_an_fe_is_flagged_not_fulfilled,
    an_unfulfillable_payment_is_kept_once_and_the_order_is_paid,
    provider_money_for_a_cancelled_order_is_kept_an_operators_is_refused,
);

// --- fixtures ---

fn holder() -> Holder {
    Holder::parse(&HolderInput {
        kind: "persona_fisica".into(),
        denominazione: None,
        nome: Some("Mario".into()),
        cognome: Some("Rossi".into()),
        codice_fiscale: "RSSMRA85T10A562S".into(),
        partita_iva: None,
        address: AddressInput {
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "MI".into(),
            nazione: "IT".into(),
        },
        phone: None,
    })
    .unwrap_or_else(|e| panic!("the fixture holder parses: {e:?}"))
}

async fn customer(db: &Database) -> Uuid {
    let email = format!("{}@example.it", Uuid::new_v4().simple());
    let new = NewCustomer {
        id: Uuid::new_v4(),
        email: email.clone(),
        email_normalized: email,
        password_hash: "$argon2id$a-hash".into(),
        holder: holder(),
    };
    db.customers()
        .insert_customer(&new)
        .await
        .must("inserting a customer")
        .id
}

fn line(context: PriceContext) -> OrderLineRecord {
    OrderLineRecord {
        item_id: Uuid::new_v4(),
        product_code: "fe".into(),
        description: "Fatturazione elettronica, 1 anno".into(),
        context,
        unit_price_cents: 2500,
        quantity: 1,
        years: 1,
        days: None,
        ends_on: NaiveDate::from_ymd_opt(2027, 12, 3),
        net_cents: 2500,
        vat_rate: "22".into(),
        vat_cents: 550,
        total_cents: 3050,
        base_item_id: None,
        target_service_id: None,
    }
}

async fn placed(db: &Database) -> OrderRecord {
    let customer_id = customer(db).await;
    let new = NewOrder {
        id: Uuid::new_v4(),
        customer_id,
        cart_id: None,
        cart_items: Vec::new(),
        channel: Channel::AndroidApp,
        payment_method: PaymentMethod::Bollettino,
        activation_email: "amministrazione@example.it".into(),
        holder: holder(),
        net_cents: 2500,
        vat_cents: 550,
        total_cents: 3050,
        expires_at: Utc::now() + Duration::days(7),
        lines: vec![line(PriceContext::Base)],
        claims: Vec::new(),
    };
    db.orders().place_order(&new).await.must("placing an order")
}

/// Runs `sql` on a connection of its own, as a person with `psql` would.
async fn by_hand(s: &Scenario, sql: &str) {
    let conn = sea_orm::Database::connect(&s.url).await.must("connecting");
    let done = conn.execute_unprepared(sql).await.must(sql);
    assert_eq!(done.rows_affected(), 1, "{sql}");
    let _ = conn.close().await;
}

#[track_caller]
fn assert_corrupt<T: Debug>(read: StoreResult<T>, naming: &str) {
    match read {
        Err(StoreError::Corrupt(what)) => {
            assert!(what.contains(naming), "`{what}` names `{naming}`")
        }
        other => panic!("expected a corrupt row naming `{naming}`, got {other:?}"),
    }
}

fn payment(order: &OrderRecord, event: Option<&str>, amount_cents: i64) -> PaymentInput {
    PaymentInput {
        event_id: event.map(str::to_owned),
        event_type: "payment.succeeded".into(),
        order_id: order.id,
        amount_cents,
        source: if event.is_some() {
            PaymentSource::Webhook
        } else {
            PaymentSource::Operator
        },
        reference: "pi_1".into(),
        paid_at: Utc::now(),
    }
}

/// A new FE for the order's holder, with the panel username `username`.
fn new_fe(username: &str) -> Fulfilment {
    Fulfilment {
        new_service: Some(NewFulfilledService {
            service_id: Uuid::new_v4(),
            product_code: "fe".into(),
            codice_destinatario: "0000000".into(),
            expires_on: NaiveDate::from_ymd_opt(2027, 12, 3).must("a date"),
            panel_user_id: Uuid::new_v4(),
            username: username.into(),
            password_hash: "a-hash".into(),
            temporary_password_expires_at: Utc::now() + Duration::days(3),
        }),
        ..Fulfilment::default()
    }
}

#[track_caller]
fn flagged_with(order: &OrderRecord, reason: &str) {
    assert!(order.flagged_for_review, "{order:?}");
    let text = order.review_reason.as_deref().unwrap_or_default();
    assert!(text.contains(reason), "`{text}` says `{reason}`");
}

// --- scenarios ---

async fn an_order_reads_back_as_placed(s: Scenario) {
    let order = placed(&s.db).await;
    let found =
        s.db.orders()
            .find_order(order.id)
            .await
            .must("reading")
            .must("the order");
    assert_eq!(found, order);
    assert_eq!(found.status, OrderStatus::AwaitingPayment);
    assert_eq!(found.channel, Channel::AndroidApp);
    assert_eq!(found.payment_method, PaymentMethod::Bollettino);
    assert_eq!(found.lines[0].context, PriceContext::Base);
}

async fn an_unknown_order_status_is_corrupt_not_a_default(s: Scenario) {
    let order = placed(&s.db).await;
    by_hand(
        &s,
        &format!(
            "UPDATE orders SET status = 'on_hold' WHERE id = '{}'",
            order.id
        ),
    )
    .await;
    assert_corrupt(s.db.orders().find_order(order.id).await, "on_hold");
    assert_corrupt(
        s.db.orders().find_order_by_number(&order.number).await,
        "on_hold",
    );
    assert_corrupt(
        s.db.orders()
            .list_orders(Some(order.customer_id), None, 10)
            .await,
        "on_hold",
    );
    assert_corrupt(
        s.db.orders().list_orders_flagged(None, None, 10).await,
        "on_hold",
    );
}

async fn a_stored_holder_that_no_longer_parses_is_corrupt(s: Scenario) {
    let order = placed(&s.db).await;
    assert_eq!(
        order.holder,
        holder(),
        "the order keeps the holder it was placed for"
    );
    by_hand(
        &s,
        &format!(
            "UPDATE orders SET holder_json = '{{\"kind\": \"persona_fisica\"}}' WHERE id = '{}'",
            order.id
        ),
    )
    .await;
    assert_corrupt(s.db.orders().find_order(order.id).await, "holder");
    by_hand(
        &s,
        &format!(
            "UPDATE customers SET codice_fiscale = 'RSSMRA85T10A562X' WHERE id = '{}'",
            order.customer_id
        ),
    )
    .await;
    assert_corrupt(
        s.db.customers().find_customer(order.customer_id).await,
        "holder",
    );
}

async fn an_unknown_method_channel_or_context_is_corrupt(s: Scenario) {
    let cases = [
        ("orders", "payment_method = 'cash'", "cash"),
        ("orders", "channel = 'fax'", "fax"),
        ("order_lines", "context = 'gift'", "gift"),
        ("order_lines", "quantity = -1", "quantity -1"),
    ];
    for (table, set, naming) in cases {
        let order = placed(&s.db).await;
        let key = if table == "orders" { "id" } else { "order_id" };
        by_hand(
            &s,
            &format!("UPDATE {table} SET {set} WHERE {key} = '{}'", order.id),
        )
        .await;
        assert_corrupt(s.db.orders().find_order(order.id).await, naming);
    }
}

async fn an_unknown_cart_status_is_corrupt(s: Scenario) {
    let cart =
        s.db.carts()
            .create_cart(&NewCart {
                id: Uuid::new_v4(),
                channel: Channel::Web,
                token_hash: "a-token-hash".into(),
                customer_id: None,
            })
            .await
            .must("creating a cart");
    by_hand(
        &s,
        &format!(
            "UPDATE carts SET status = 'abandoned' WHERE id = '{}'",
            cart.id
        ),
    )
    .await;
    assert_corrupt(s.db.carts().find_cart(cart.id).await, "abandoned");
}

async fn another_amount_is_kept_and_flagged_and_its_event_is_not_paid_twice(s: Scenario) {
    let order = placed(&s.db).await;
    let short = payment(&order, Some("evt_short"), 100);
    let outcome =
        s.db.orders()
            .confirm_payment(&order, &short, &Fulfilment::default())
            .await;
    let PaymentOutcome::AmountDiffers(flagged) = outcome.must("paying") else {
        panic!("another amount differs");
    };
    flagged_with(
        &flagged,
        "of 100 cents differs from the total of 3050 cents",
    );
    assert_eq!(flagged.status, OrderStatus::AwaitingPayment);
    assert_eq!(flagged.received_cents(), 100, "the money is kept");
    let again =
        s.db.orders()
            .confirm_payment(&order, &short, &Fulfilment::default())
            .await;
    assert!(
        matches!(again, Ok(PaymentOutcome::DuplicateEvent)),
        "{again:?}"
    );
    let found =
        s.db.orders()
            .find_order(order.id)
            .await
            .must("reading")
            .must("the order");
    assert_eq!(found.payments.len(), 1, "{found:?}");
}

async fn a_holder_who_has_an_fe_is_flagged_not_fulfilled(s: Scenario) {
    let first = placed(&s.db).await;
    let paid =
        s.db.orders()
            .confirm_payment(
                &first,
                &payment(&first, Some("evt_1"), 3050),
                &new_fe("fe-holder"),
            )
            .await;
    assert!(matches!(paid, Ok(PaymentOutcome::Fulfilled(_))), "{paid:?}");

    let second = placed(&s.db).await;
    let outcome =
        s.db.orders()
            .confirm_payment(
                &second,
                &payment(&second, Some("evt_2"), 3050),
                &new_fe("fe-holder"),
            )
            .await;
    let PaymentOutcome::HolderAlreadyHasFe(flagged) = outcome.must("paying") else {
        panic!("a second FE for the holder is flagged");
    };
    flagged_with(&flagged, "already has an FE");
    assert_eq!(flagged.status, OrderStatus::AwaitingPayment);
    assert_eq!(flagged.service_id, None);
    assert_eq!(flagged.received_cents(), 3050, "the money is kept");
}

async fn an_unfulfillable_payment_is_kept_once_and_the_order_is_paid(s: Scenario) {
    let order = placed(&s.db).await;
    let input = payment(&order, Some("evt_unfulfillable"), 3050);
    let outcome =
        s.db.orders()
            .record_unfulfilled_payment(&input, "boom")
            .await;
    let PaymentOutcome::FulfilmentFailed(flagged) = outcome.must("recording") else {
        panic!("paid in full, fulfilment failed");
    };
    assert_eq!(flagged.status, OrderStatus::Paid);
    flagged_with(
        &flagged,
        "webhook payment pi_1 received, fulfilment failed: boom",
    );
    assert_eq!(flagged.received_cents(), 3050);
    let again =
        s.db.orders()
            .record_unfulfilled_payment(&input, "boom")
            .await;
    assert!(
        matches!(again, Ok(PaymentOutcome::DuplicateEvent)),
        "{again:?}"
    );
}

async fn provider_money_for_a_cancelled_order_is_kept_an_operators_is_refused(s: Scenario) {
    let order = placed(&s.db).await;
    s.db.orders()
        .cancel_order(order.id, order.customer_id)
        .await
        .must("cancelling")
        .must("the order");
    let by_operator =
        s.db.orders()
            .confirm_payment(&order, &payment(&order, None, 3050), &Fulfilment::default())
            .await;
    let PaymentOutcome::NotPayable(refused) = by_operator.must("registering") else {
        panic!("a cancelled order is not payable");
    };
    assert!(!refused.flagged_for_review, "{refused:?}");
    assert_eq!(refused.received_cents(), 0, "nothing recorded");
    let by_provider =
        s.db.orders()
            .confirm_payment(
                &order,
                &payment(&order, Some("evt_late"), 3050),
                &Fulfilment::default(),
            )
            .await;
    let PaymentOutcome::NotPayable(kept) = by_provider.must("paying") else {
        panic!("a cancelled order is not payable");
    };
    flagged_with(&kept, "arrived for a cancelled order: refund it");
    assert_eq!(kept.status, OrderStatus::Cancelled);
    assert_eq!(kept.received_cents(), 3050, "the provider's money is kept");
}
