//! Money in euro: a decimal amount, never a float, two decimals once rounded.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul};

/// An amount in euro. Arithmetic keeps full precision; [`Money::rounded`]
/// rounds half-up to the cent, which is what an invoice line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a decimal amount")]
    NotANumber,
    #[error("amounts may not be negative")]
    Negative,
    #[error("amounts have at most two decimals")]
    TooManyDecimals,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a non-negative euro amount with at most two decimals ("30.50").
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let value: Decimal = text.trim().parse().map_err(|_| MoneyError::NotANumber)?;
        Self::from_decimal(value)
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        Ok(Money(value))
    }

    /// Whole cents, for exact comparisons and storage.
    pub fn from_cents(cents: i64) -> Self {
        Money(Decimal::new(cents, 2))
    }

    pub fn cents(self) -> i64 {
        let rounded = self.rounded().0 * Decimal::ONE_HUNDRED;
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Rounded half-up to the cent (amounts are never negative, so "away
    /// from zero" on the midpoint is half-up).
    pub fn rounded(self) -> Money {
        let mut value = self
            .0
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        value.rescale(2);
        Money(value)
    }

    /// `self × numerator / denominator`, unrounded; used for pro rata.
    pub fn pro_rata(self, numerator: i64, denominator: i64) -> Money {
        if denominator == 0 {
            return Money::ZERO;
        }
        Money(self.0 * Decimal::from(numerator) / Decimal::from(denominator))
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Mul<u32> for Money {
    type Output = Money;
    fn mul(self, factor: u32) -> Money {
        Money(self.0 * Decimal::from(factor))
    }
}

impl Mul<Decimal> for Money {
    type Output = Money;
    fn mul(self, factor: Decimal) -> Money {
        Money(self.0 * factor)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// Always two decimals: "30.50".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.rounded().0;
        value.rescale(2);
        write!(f, "{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_up_to_the_cent() {
        assert_eq!(Money(dec!(1.005)).rounded().to_string(), "1.01");
        assert_eq!(Money(dec!(1.004)).rounded().to_string(), "1.00");
        assert_eq!(Money(dec!(5.5)).to_string(), "5.50");
    }

    #[test]
    fn parses_two_decimals_only() {
        assert_eq!(Money::parse("30.50").map(|m| m.cents()), Ok(3050));
        assert_eq!(Money::parse("30.505"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("abc"), Err(MoneyError::NotANumber));
    }

    #[test]
    fn pro_rata_keeps_precision_until_rounded() {
        let year = Money::parse("25.00").unwrap_or_default();
        assert_eq!(year.pro_rata(100, 365).rounded().to_string(), "6.85");
    }
}
