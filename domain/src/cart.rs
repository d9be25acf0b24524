//! A cart and its lines, as the rules see them.

use uuid::Uuid;

/// Where the purchase starts; recorded on carts and orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Web,
    CustomerArea,
    Panel,
    AndroidApp,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Web,
        Channel::CustomerArea,
        Channel::Panel,
        Channel::AndroidApp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::CustomerArea => "customer_area",
            Channel::Panel => "panel",
            Channel::AndroidApp => "android_app",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Where a cart is: open to changes, or checked out into its order (once,
/// for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CartStatus {
    Open,
    CheckedOut,
}

/// A cart that is no longer open was changed or checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cart is no longer open")]
pub struct CartNotOpen;

impl CartStatus {
    pub const ALL: [CartStatus; 2] = [CartStatus::Open, CartStatus::CheckedOut];

    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckedOut => "checked_out",
        }
    }

    pub fn parse(text: &str) -> Option<CartStatus> {
        CartStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Lines may be added or removed only while the cart is open.
    pub fn accepts_changes(self) -> bool {
        self == CartStatus::Open
    }

    /// Checking out moves an open cart to `checked_out`; the store writes it
    /// as a conditional update from `open`.
    pub fn check_out(self) -> Result<CartStatus, CartNotOpen> {
        match self {
            CartStatus::Open => Ok(CartStatus::CheckedOut),
            CartStatus::CheckedOut => Err(CartNotOpen),
        }
    }
}

/// One line of a cart. The product code is kept as text: a line stays
/// readable even if a later catalog drops its product (the rules then report
/// `unknown_product`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub id: Uuid,
    pub product_code: String,
    /// Bases only: how many years.
    pub years: Option<u32>,
    pub quantity: u32,
    /// Add-ons: the base line of the same cart it belongs to.
    pub base_item_id: Option<Uuid>,
    /// Add-ons: the owned base service it is bought for.
    pub target_service_id: Option<Uuid>,
    /// Add-ons on an owned base: extend the base so the add-on gets a full
    /// year ("Estensione dei servizi attivi", on by default).
    pub extend_base: bool,
}

impl CartLine {
    /// Years this line buys; add-ons follow their base.
    pub fn years_or_one(&self) -> u32 {
        self.years.unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_written() {
        for status in CartStatus::ALL {
            assert_eq!(CartStatus::parse(status.as_str()), Some(status));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(CartStatus::parse("closed"), None);
        assert_eq!(Channel::parse("Web"), None);
    }

    #[test]
    fn only_an_open_cart_changes_or_is_checked_out() {
        assert!(CartStatus::Open.accepts_changes());
        assert_eq!(CartStatus::Open.check_out(), Ok(CartStatus::CheckedOut));
        assert!(!CartStatus::CheckedOut.accepts_changes());
        assert_eq!(CartStatus::CheckedOut.check_out(), Err(CartNotOpen));
    }
}
