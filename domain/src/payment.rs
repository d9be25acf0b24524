//! Paying an order: how the customer pays, where a payment comes from, and
//! what a payment received comes to ([`decide`]), with the reason an
//! operator reads when it flags the order.

use crate::order::OrderStatus;

/// How the customer chose to pay at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    Card,
    Paypal,
    /// The order number is the causale; an operator registers it.
    BankTransfer,
    /// A postal slip; an operator registers it.
    Bollettino,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 4] = [
        PaymentMethod::Card,
        PaymentMethod::Paypal,
        PaymentMethod::BankTransfer,
        PaymentMethod::Bollettino,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Paypal => "paypal",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Bollettino => "bollettino",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// Who reports a payment received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentSource {
    /// The payment provider's signed webhook: the money has moved.
    Webhook,
    /// An operator registering a bank transfer or a postal slip.
    Operator,
}

impl PaymentSource {
    pub const ALL: [PaymentSource; 2] = [PaymentSource::Webhook, PaymentSource::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentSource::Webhook => "webhook",
            PaymentSource::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentSource> {
        PaymentSource::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A payment received for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedPayment<'a> {
    pub source: PaymentSource,
    /// The provider's payment id, or the bank or postal reference.
    pub reference: &'a str,
    pub amount_cents: i64,
}

/// The order as the decision needs it, read when the payment arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayableOrder<'a> {
    pub status: OrderStatus,
    pub total_cents: i64,
    pub holder_tax_id: &'a str,
    /// The order makes a new FE and its holder already has one (their
    /// panel username is taken: one FE per tax id).
    pub holder_has_fe: bool,
}

/// What a payment received comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentDecision {
    /// The provider sent this event before: nothing changes.
    Duplicate,
    /// Another payment (an event or an operator) got there first.
    AlreadyPaid,
    /// Cancelled or expired. Money the provider took (`refund`) is kept on
    /// the order, flagged for an operator to refund; an operator
    /// registering a transfer is refused instead, and nothing is kept.
    NotPayable { status: OrderStatus, refund: bool },
    /// Unpaid, but the amount is not the total: kept on the order, flagged.
    AmountDiffers {
        expected_cents: i64,
        received_cents: i64,
    },
    /// Paid in full, but the holder already has an FE: kept on the order,
    /// flagged for an operator to refund or reassign.
    HolderAlreadyHasFe,
    /// Paid in full: the order is paid and fulfilled.
    PaidInFull,
}

/// Decides what `payment` does to `order`; `event_seen_before`: the
/// provider's event id was recorded before. In this order: a repeated event
/// changes nothing; an order paid already or closed unpaid is not paid
/// again; then the amount must be the total, and the holder must not have
/// an FE already.
pub fn decide(
    order: &PayableOrder<'_>,
    payment: &ReceivedPayment<'_>,
    event_seen_before: bool,
) -> PaymentDecision {
    if event_seen_before {
        return PaymentDecision::Duplicate;
    }
    match order.status {
        OrderStatus::AwaitingPayment => {}
        OrderStatus::Paid | OrderStatus::Fulfilled => return PaymentDecision::AlreadyPaid,
        status @ (OrderStatus::Cancelled | OrderStatus::Expired) => {
            return PaymentDecision::NotPayable {
                status,
                refund: payment.source == PaymentSource::Webhook,
            };
        }
    }
    if payment.amount_cents != order.total_cents {
        return PaymentDecision::AmountDiffers {
            expected_cents: order.total_cents,
            received_cents: payment.amount_cents,
        };
    }
    if order.holder_has_fe {
        return PaymentDecision::HolderAlreadyHasFe;
    }
    PaymentDecision::PaidInFull
}

impl PaymentDecision {
    /// Why the order is flagged for an operator's review, when the decision
    /// flags it. Every decision that flags the order also keeps the payment
    /// on it (a receipt), so the money received is never lost.
    pub fn review_reason(
        &self,
        payment: &ReceivedPayment<'_>,
        holder_tax_id: &str,
    ) -> Option<String> {
        let source = payment.source.as_str();
        let reference = payment.reference;
        match *self {
            PaymentDecision::NotPayable {
                status,
                refund: true,
            } => Some(format!(
                "{source} payment {reference} of {} cents arrived for a {} order: refund it",
                payment.amount_cents,
                status.as_str()
            )),
            PaymentDecision::AmountDiffers {
                expected_cents,
                received_cents,
            } => Some(format!(
                "{source} payment {reference} of {received_cents} cents differs from the total of {expected_cents} cents"
            )),
            PaymentDecision::HolderAlreadyHasFe => Some(format!(
                "{source} payment {reference}: the holder {holder_tax_id} already has an FE; refund or reassign"
            )),
            PaymentDecision::Duplicate
            | PaymentDecision::AlreadyPaid
            | PaymentDecision::NotPayable { refund: false, .. }
            | PaymentDecision::PaidInFull => None,
        }
    }
}

/// Why an order paid in full is flagged when its fulfilment failed
/// (`failure`: what failed) and the payment was kept.
pub fn fulfilment_failed_reason(payment: &ReceivedPayment<'_>, failure: &str) -> String {
    format!(
        "{} payment {} received, fulfilment failed: {failure}",
        payment.source.as_str(),
        payment.reference
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: OrderStatus) -> PayableOrder<'static> {
        PayableOrder {
            status,
            total_cents: 3050,
            holder_tax_id: "01234567890",
            holder_has_fe: false,
        }
    }

    fn payment(source: PaymentSource, amount_cents: i64) -> ReceivedPayment<'static> {
        ReceivedPayment {
            source,
            reference: "pi_1",
            amount_cents,
        }
    }

    const WEBHOOK: PaymentSource = PaymentSource::Webhook;
    const OPERATOR: PaymentSource = PaymentSource::Operator;

    #[test]
    fn names_read_back_as_written() {
        for method in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(method.as_str()), Some(method));
        }
        for source in PaymentSource::ALL {
            assert_eq!(PaymentSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(PaymentMethod::parse("cash"), None);
        assert_eq!(PaymentSource::parse("Webhook"), None);
    }

    #[test]
    fn an_unpaid_order_paid_in_full_is_paid() {
        let unpaid = order(OrderStatus::AwaitingPayment);
        for source in PaymentSource::ALL {
            let decision = decide(&unpaid, &payment(source, 3050), false);
            assert_eq!(decision, PaymentDecision::PaidInFull);
            assert_eq!(decision.review_reason(&payment(source, 3050), "x"), None);
        }
    }

    #[test]
    fn a_repeated_event_changes_nothing_whatever_the_order() {
        for status in OrderStatus::ALL {
            let decision = decide(&order(status), &payment(WEBHOOK, 1), true);
            assert_eq!(decision, PaymentDecision::Duplicate, "{status:?}");
        }
    }

    #[test]
    fn a_paid_order_is_not_paid_again() {
        for status in [OrderStatus::Paid, OrderStatus::Fulfilled] {
            for amount in [3050, 1] {
                let decision = decide(&order(status), &payment(OPERATOR, amount), false);
                assert_eq!(decision, PaymentDecision::AlreadyPaid);
            }
        }
    }

    #[test]
    fn provider_money_for_a_closed_order_is_kept_for_a_refund() {
        for status in [OrderStatus::Cancelled, OrderStatus::Expired] {
            let received = payment(WEBHOOK, 3050);
            let decision = decide(&order(status), &received, false);
            assert_eq!(
                decision,
                PaymentDecision::NotPayable {
                    status,
                    refund: true
                }
            );
            let reason = decision.review_reason(&received, "x");
            assert_eq!(
                reason,
                Some(format!(
                    "webhook payment pi_1 of 3050 cents arrived for a {} order: refund it",
                    status.as_str()
                ))
            );
            let by_operator = payment(OPERATOR, 3050);
            let refused = decide(&order(status), &by_operator, false);
            assert_eq!(
                refused,
                PaymentDecision::NotPayable {
                    status,
                    refund: false
                }
            );
            assert_eq!(refused.review_reason(&by_operator, "x"), None);
        }
    }

    #[test]
    fn another_amount_is_flagged_with_both_amounts() {
        let received = payment(OPERATOR, 3150);
        let decision = decide(&order(OrderStatus::AwaitingPayment), &received, false);
        assert_eq!(
            decision,
            PaymentDecision::AmountDiffers {
                expected_cents: 3050,
                received_cents: 3150
            }
        );
        assert_eq!(
            decision.review_reason(&received, "x").as_deref(),
            Some("operator payment pi_1 of 3150 cents differs from the total of 3050 cents")
        );
    }

    #[test]
    fn a_holder_with_an_fe_is_flagged_not_fulfilled() {
        let holder_has_fe = PayableOrder {
            holder_has_fe: true,
            ..order(OrderStatus::AwaitingPayment)
        };
        let received = payment(WEBHOOK, 3050);
        let decision = decide(&holder_has_fe, &received, false);
        assert_eq!(decision, PaymentDecision::HolderAlreadyHasFe);
        assert_eq!(
            decision.review_reason(&received, "01234567890").as_deref(),
            Some(
                "webhook payment pi_1: the holder 01234567890 already has an FE; refund or reassign"
            )
        );
        // The amount is looked at first.
        let short = decide(&holder_has_fe, &payment(WEBHOOK, 100), false);
        assert!(matches!(short, PaymentDecision::AmountDiffers { .. }));
    }

    #[test]
    fn a_failed_fulfilment_names_the_payment_and_the_failure() {
        assert_eq!(
            fulfilment_failed_reason(&payment(WEBHOOK, 3050), "database error: boom"),
            "webhook payment pi_1 received, fulfilment failed: database error: boom"
        );
    }
}
