//! Priced lines and totals as carts and orders show them.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinePriceContext {
    /// A new base service.
    Base,
    /// An add-on with a new base in the same cart.
    WithNewBase,
    /// An add-on for a base the buyer owns.
    OnExistingBase,
    /// The pro rata extension of an owned base (co-termination).
    BaseExtension,
}

/// A priced line. Amounts are decimal euro strings with two decimals.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricedLineDto {
    /// The cart item this line prices (a base extension shares its add-on's id).
    pub item_id: Uuid,
    #[schema(example = "fe")]
    pub product_code: String,
    #[schema(example = "Fatturazione Elettronica")]
    pub description: String,
    pub context: LinePriceContext,
    /// Net price of one unit for one year.
    #[schema(example = "25.00")]
    pub unit_price: String,
    pub quantity: u32,
    /// Years paid (0 for a base extension, which is priced per day).
    pub years: u32,
    /// Base extensions: the days added.
    #[schema(nullable)]
    pub days: Option<i64>,
    /// When the bought service or module ends, where known now.
    #[schema(nullable)]
    pub ends_on: Option<NaiveDate>,
    #[schema(example = "25.00")]
    pub net: String,
    /// IVA rate in percent.
    #[schema(example = "22")]
    pub vat_rate: String,
    #[schema(example = "5.50")]
    pub vat: String,
    #[schema(example = "30.50")]
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsDto {
    #[schema(example = "25.00")]
    pub net: String,
    #[schema(example = "5.50")]
    pub vat: String,
    #[schema(example = "30.50")]
    pub total: String,
    #[schema(example = "EUR")]
    pub currency: String,
}
