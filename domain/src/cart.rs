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
