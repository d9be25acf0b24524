//! Paying an order and fulfilling it, exactly once: what the payment
//! creates is planned here (the new FE service, its panel credentials and
//! the activation email; or the add-on modules, the co-terminated expiry
//! and a confirmation email) and written by `confirm_payment` in the same
//! transaction as the payment.
//!
//! A fulfilment that fails for a reason retrying will not cure (anything
//! but a transient database error) does not fail the payment: the payment
//! is recorded, the order becomes `paid` and is flagged for review with the
//! reason, and the caller answers 2xx; an operator retries it ([`retry`])
//! or refunds it.

use crate::catalog::view::CatalogView;
use crate::config::settings::OrderSettings;
use crate::http::problem::ApiError;
use crate::mail::emails::{
    ActivationEmail, PaymentConfirmationEmail, activation_email, payment_confirmation_email,
};
use crate::shared::money::cents_text;
use chrono::{DateTime, Months, Utc};
use domain::{OrderTransition, PaymentDecision, PriceContext};
use persistence::Database;
use persistence::order::{
    Fulfilment, NewFulfilledService, OrderRecord, PaymentInput, PaymentOutcome,
};
use persistence::outbox::NewEmail;
use std::time::Duration;
use uuid::Uuid;

/// What fulfilment needs besides the order.
pub struct Context<'a> {
    pub db: &'a Database,
    pub view: &'a CatalogView,
    pub orders: &'a OrderSettings,
    pub temporary_password_ttl: Duration,
}

fn product_name(view: &CatalogView, code: &str) -> String {
    view.catalog
        .get(code)
        .map_or_else(|| code.to_owned(), |p| p.name.clone())
}

/// Plans what paying `order` on `paid_at` creates.
fn plan(ctx: &Context<'_>, order: &OrderRecord, paid_at: DateTime<Utc>) -> Fulfilment {
    let mut fulfilment = Fulfilment::default();
    let base = order.lines.iter().find(|l| l.context == PriceContext::Base);
    if let Some(base) = base {
        let service_id = Uuid::new_v4();
        let expires_on = paid_at
            .date_naive()
            .checked_add_months(Months::new(12 * base.years.max(1)))
            .unwrap_or(paid_at.date_naive());
        // The temporary password's clock starts now, when the email
        // leaves (a transfer may be registered weeks after its value date).
        let (credentials, password_hash) =
            crate::panel::credentials::mint(&order.holder_tax_id, ctx.temporary_password_ttl);
        let modules: Vec<String> = order
            .lines
            .iter()
            .filter(|l| {
                l.context == PriceContext::WithNewBase && l.base_item_id == Some(base.item_id)
            })
            .map(|l| l.product_code.clone())
            .collect();
        for code in &modules {
            fulfilment.modules.push((service_id, code.clone(), true));
        }
        let email = activation_email(&ActivationEmail {
            holder_name: order.holder.display_name(),
            order_number: order.number.clone(),
            username: credentials.username.clone(),
            temporary_password: credentials.temporary_password,
            temporary_password_expires_at: credentials.expires_at,
            panel_url: ctx.orders.panel_url.clone(),
            service_expires_on: expires_on,
            modules: modules.iter().map(|c| product_name(ctx.view, c)).collect(),
        });
        fulfilment.emails.push(NewEmail {
            id: Uuid::new_v4(),
            kind: "activation".into(),
            recipient: order.activation_email.clone(),
            subject: email.subject,
            body_text: email.body_text,
            order_id: Some(order.id),
        });
        fulfilment.new_service = Some(NewFulfilledService {
            service_id,
            product_code: base.product_code.clone(),
            codice_destinatario: ctx.orders.codice_destinatario.clone(),
            expires_on,
            panel_user_id: Uuid::new_v4(),
            username: credentials.username,
            password_hash,
            temporary_password_expires_at: credentials.expires_at,
        });
    }
    let mut confirmed_items = Vec::new();
    let mut new_expiry = None;
    for line in order.lines.iter().filter(|l| l.target_service_id.is_some()) {
        let Some(target) = line.target_service_id else {
            continue;
        };
        match line.context {
            PriceContext::OnExistingBase => {
                fulfilment
                    .modules
                    .push((target, line.product_code.clone(), false));
                confirmed_items.push(product_name(ctx.view, &line.product_code));
            }
            PriceContext::BaseExtension => {
                if let Some(ends_on) = line.ends_on {
                    fulfilment.extensions.push((target, ends_on));
                    new_expiry = Some(ends_on);
                    confirmed_items.push(line.description.clone());
                }
            }
            PriceContext::Base | PriceContext::WithNewBase => {}
        }
    }
    if base.is_none() && !confirmed_items.is_empty() {
        let email = payment_confirmation_email(&PaymentConfirmationEmail {
            holder_name: order.holder.display_name(),
            order_number: order.number.clone(),
            total: cents_text(order.total_cents),
            items: confirmed_items,
            service_expires_on: new_expiry,
            panel_url: ctx.orders.panel_url.clone(),
        });
        fulfilment.emails.push(NewEmail {
            id: Uuid::new_v4(),
            kind: "payment_confirmation".into(),
            recipient: order.activation_email.clone(),
            subject: email.subject,
            body_text: email.body_text,
            order_id: Some(order.id),
        });
    }
    fulfilment
}

/// Registers a payment for `order` and fulfils it if the amount matches.
pub async fn pay(
    ctx: &Context<'_>,
    order: &OrderRecord,
    input: PaymentInput,
) -> Result<PaymentOutcome, ApiError> {
    // Plan only what can happen: an unpaid order paid in full. A racing
    // payment may still win; the transaction then discards this plan.
    let decision = domain::payment::decide(&order.payable(false), &input.received(), false);
    let fulfilment = if decision == PaymentDecision::PaidInFull {
        plan(ctx, order, input.paid_at)
    } else {
        Fulfilment::default()
    };
    let outcome = match ctx
        .db
        .orders()
        .confirm_payment(order, &input, &fulfilment)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) if !error.is_transient() => {
            // Logged in full here; the reason kept on the order is for
            // operators, never shown to the customer.
            tracing::error!(
                order_id = %order.id, error = %error, source = input.source.as_str(),
                "fulfilment failed: recording the payment and flagging the order"
            );
            ctx.db
                .orders()
                .record_unfulfilled_payment(&input, &error.to_string())
                .await?
        }
        Err(error) => return Err(error.into()),
    };
    match &outcome {
        PaymentOutcome::Fulfilled(order) => tracing::info!(
            order_id = %order.id, number = %order.number, source = input.source.as_str(),
            service_id = ?order.service_id, "order paid and fulfilled"
        ),
        PaymentOutcome::AmountDiffers(order) => tracing::warn!(
            order_id = %order.id, number = %order.number, paid_cents = input.amount_cents,
            total_cents = order.total_cents, "payment amount differs from the order total: flagged for review"
        ),
        PaymentOutcome::HolderAlreadyHasFe(order) => tracing::warn!(
            order_id = %order.id, number = %order.number,
            "paid in full, but the holder already has an FE: flagged for review"
        ),
        PaymentOutcome::DuplicateEvent => {
            tracing::info!(event = ?input.event_id, "duplicate payment event ignored")
        }
        PaymentOutcome::AlreadyPaid(order) => {
            tracing::info!(order_id = %order.id, "order already paid")
        }
        PaymentOutcome::NotPayable(order) => {
            tracing::warn!(order_id = %order.id, status = order.status.as_str(), "payment for an order that cannot be paid")
        }
        PaymentOutcome::FulfilmentFailed(order) => tracing::warn!(
            order_id = %order.id, number = %order.number,
            "order paid but not fulfilled: flagged for review"
        ),
        PaymentOutcome::NotFound => {}
    }
    Ok(outcome)
}

/// What an operator's retry of a fulfilment came to.
#[derive(Debug)]
pub enum RetryOutcome {
    /// Fulfilled now (the review flag stays until cleared).
    Fulfilled(OrderRecord),
    /// Failed again: still `paid`, flagged with the new reason.
    Failed(OrderRecord),
    /// Not a paid, unfulfilled order: nothing to retry.
    NotRetryable(OrderRecord),
}

/// Fulfils again a `paid` order whose fulfilment failed, planned anew
/// (fresh panel credentials; the service runs from the payment's date).
pub async fn retry(ctx: &Context<'_>, order: &OrderRecord) -> Result<RetryOutcome, ApiError> {
    if order.status.apply(OrderTransition::Fulfil).is_err() {
        return Ok(RetryOutcome::NotRetryable(order.clone()));
    }
    let paid_at = order.paid_at.unwrap_or_else(Utc::now);
    let fulfilment = plan(ctx, order, paid_at);
    match ctx.db.orders().retry_fulfilment(order, &fulfilment).await {
        Ok(Some(done)) => {
            tracing::info!(order_id = %done.id, "fulfilment retried: order fulfilled");
            Ok(RetryOutcome::Fulfilled(done))
        }
        Ok(None) => {
            let current = ctx
                .db
                .orders()
                .find_order(order.id)
                .await?
                .unwrap_or_else(|| order.clone());
            Ok(RetryOutcome::NotRetryable(current))
        }
        Err(error) if !error.is_transient() => {
            tracing::error!(order_id = %order.id, error = %error, "fulfilment retry failed");
            let reason = format!("fulfilment retry failed: {error}");
            let flagged = ctx
                .db
                .orders()
                .flag_order(order.id, &reason)
                .await?
                .unwrap_or_else(|| order.clone());
            Ok(RetryOutcome::Failed(flagged))
        }
        Err(error) => Err(error.into()),
    }
}
