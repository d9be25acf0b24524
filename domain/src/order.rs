//! An order's life: its status and the moves between them.
//!
//! ```text
//! awaiting_payment ──pay──────────────▶ fulfilled
//!        │         ──pay_unfulfilled──▶ paid ──fulfil──▶ fulfilled
//!        ├──cancel──▶ cancelled
//!        └──expire──▶ expired
//! ```
//!
//! Each move starts from exactly one status, so the store writes it as one
//! conditional update (`SET status = <after> WHERE status = <before>`): a
//! racing writer finds the order moved.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    AwaitingPayment,
    /// Paid, but its fulfilment failed: waiting for an operator's retry.
    Paid,
    Fulfilled,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Where `transition` takes an order in this status, or why it cannot.
    pub fn apply(self, transition: OrderTransition) -> Result<OrderStatus, TransitionError> {
        if self == transition.before() {
            Ok(transition.after())
        } else {
            Err(TransitionError {
                status: self,
                transition,
            })
        }
    }

    /// A payment has been taken for it (fulfilled or not).
    pub fn is_paid(self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Fulfilled)
    }

    /// It will never be paid: cancelled by its customer or expired unpaid.
    pub fn is_closed_unpaid(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Expired)
    }
}

/// A move of an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderTransition {
    /// Paid in full and fulfilled in the same transaction.
    Pay,
    /// Paid in full, but the fulfilment failed: the payment is kept.
    PayUnfulfilled,
    /// A paid order's fulfilment, retried by an operator.
    Fulfil,
    /// The customer cancels an unpaid order.
    Cancel,
    /// An unpaid order passes its expiry.
    Expire,
}

impl OrderTransition {
    /// The one status it starts from.
    pub fn before(self) -> OrderStatus {
        match self {
            OrderTransition::Pay
            | OrderTransition::PayUnfulfilled
            | OrderTransition::Cancel
            | OrderTransition::Expire => OrderStatus::AwaitingPayment,
            OrderTransition::Fulfil => OrderStatus::Paid,
        }
    }

    /// The status it leads to.
    pub fn after(self) -> OrderStatus {
        match self {
            OrderTransition::Pay | OrderTransition::Fulfil => OrderStatus::Fulfilled,
            OrderTransition::PayUnfulfilled => OrderStatus::Paid,
            OrderTransition::Cancel => OrderStatus::Cancelled,
            OrderTransition::Expire => OrderStatus::Expired,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderTransition::Pay => "pay",
            OrderTransition::PayUnfulfilled => "pay_unfulfilled",
            OrderTransition::Fulfil => "fulfil",
            OrderTransition::Cancel => "cancel",
            OrderTransition::Expire => "expire",
        }
    }
}

/// An order in `status` cannot take `transition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order {} cannot {}", status.as_str(), transition.as_str())]
pub struct TransitionError {
    pub status: OrderStatus,
    pub transition: OrderTransition,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSITIONS: [OrderTransition; 5] = [
        OrderTransition::Pay,
        OrderTransition::PayUnfulfilled,
        OrderTransition::Fulfil,
        OrderTransition::Cancel,
        OrderTransition::Expire,
    ];

    #[test]
    fn statuses_read_back_as_written() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("Paid"), None);
        assert_eq!(OrderStatus::parse(""), None);
    }

    #[test]
    fn an_unpaid_order_is_paid_cancelled_or_expired() {
        let unpaid = OrderStatus::AwaitingPayment;
        assert_eq!(
            unpaid.apply(OrderTransition::Pay),
            Ok(OrderStatus::Fulfilled)
        );
        assert_eq!(
            unpaid.apply(OrderTransition::PayUnfulfilled),
            Ok(OrderStatus::Paid)
        );
        assert_eq!(
            unpaid.apply(OrderTransition::Cancel),
            Ok(OrderStatus::Cancelled)
        );
        assert_eq!(
            unpaid.apply(OrderTransition::Expire),
            Ok(OrderStatus::Expired)
        );
        assert!(unpaid.apply(OrderTransition::Fulfil).is_err());
    }

    #[test]
    fn only_a_paid_order_is_fulfilled_again() {
        assert_eq!(
            OrderStatus::Paid.apply(OrderTransition::Fulfil),
            Ok(OrderStatus::Fulfilled)
        );
        for status in OrderStatus::ALL
            .into_iter()
            .filter(|s| *s != OrderStatus::Paid)
        {
            assert!(status.apply(OrderTransition::Fulfil).is_err(), "{status:?}");
        }
    }

    #[test]
    fn a_paid_or_closed_order_cannot_be_cancelled_expired_or_paid() {
        for status in [
            OrderStatus::Paid,
            OrderStatus::Fulfilled,
            OrderStatus::Cancelled,
            OrderStatus::Expired,
        ] {
            for transition in [
                OrderTransition::Pay,
                OrderTransition::PayUnfulfilled,
                OrderTransition::Cancel,
                OrderTransition::Expire,
            ] {
                let refused = status.apply(transition);
                assert_eq!(refused, Err(TransitionError { status, transition }));
            }
        }
        let error = OrderStatus::Fulfilled
            .apply(OrderTransition::Cancel)
            .err()
            .map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("an order fulfilled cannot cancel"));
    }

    #[test]
    fn every_move_starts_from_one_status_and_goes_elsewhere() {
        for transition in TRANSITIONS {
            assert_ne!(transition.before(), transition.after(), "{transition:?}");
            let allowed: Vec<_> = OrderStatus::ALL
                .into_iter()
                .filter(|s| s.apply(transition).is_ok())
                .collect();
            assert_eq!(allowed, [transition.before()], "{transition:?}");
        }
    }

    #[test]
    fn paid_and_closed_statuses() {
        let paid: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_paid())
            .collect();
        assert_eq!(paid, [OrderStatus::Paid, OrderStatus::Fulfilled]);
        let closed: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_closed_unpaid())
            .collect();
        assert_eq!(closed, [OrderStatus::Cancelled, OrderStatus::Expired]);
    }
}
