//! Money in euro: a decimal amount, never a float, two decimals once rounded.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul};

/// An amount in euro. Arithmetic keeps full precision; [`Money::rounded`]
/// rounds half-up to the cent, which is what an invoice line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// The most digits an amount's whole part may have (under a billion euro):
/// longer strings are refused before any arithmetic, so none overflows.
pub const MAX_WHOLE_DIGITS: usize = 9;

/// The contract's pattern for money strings (OpenAPI `pattern`), which
/// [`Money::parse`] implements exactly.
/// No leading zeros ("0030.50" is refused; "0.50" is fine): one spelling
/// per amount, so what a signed event says is what was compared.
pub const MONEY_PATTERN: &str = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a decimal amount: digits, an optional point and at most two decimals")]
    NotANumber,
    #[error("amounts have at most {MAX_WHOLE_DIGITS} digits before the point")]
    TooLarge,
    #[error("amounts may not be negative")]
    Negative,
    #[error("amounts have at most two decimals")]
    TooManyDecimals,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a non-negative euro amount exactly as the contract spells it,
    /// [`MONEY_PATTERN`]: ASCII digits (at most [`MAX_WHOLE_DIGITS`], no
    /// leading zero unless the whole part is `0`), then
    /// optionally a point and one or two digits ("30.50", "30.5", "30").
    /// No sign, no exponent, no spaces, no third decimal — not even a zero:
    /// what a client sends is what it means, or it is refused.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) {
            return Err(MoneyError::NotANumber);
        }
        if let Some(fraction) = fraction {
            if !digits(fraction) {
                return Err(MoneyError::NotANumber);
            }
            if fraction.len() > 2 {
                return Err(MoneyError::TooManyDecimals);
            }
        }
        if whole.len() > 1 && whole.starts_with('0') {
            return Err(MoneyError::NotANumber);
        }
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(MoneyError::TooLarge);
        }
        // At most 9 + 2 ASCII digits: always a valid Decimal.
        let value: Decimal = text.parse().map_err(|_| MoneyError::NotANumber)?;
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
        assert_eq!(Money::parse("-1"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("abc"), Err(MoneyError::NotANumber));
    }

    #[test]
    fn only_the_contracts_spelling_is_money() {
        for ok in ["30.50", "30.5", "30", "0", "0.00", "999999999.99", "0.5"] {
            assert!(Money::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "3.05e1",
            " 30.50",
            "30.50 ",
            "+30.50",
            "30.500",
            "30.50000000000000000000000000000001",
            "30.",
            ".50",
            "0030.50",
            "00",
            "",
            "1,00",
            "١٢",
            "NaN",
            "1000000000",
            "99999999999999999999999999999999999999999",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Money::parse("1000000000"), Err(MoneyError::TooLarge));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Every string of the pattern parses to the amount it spells.
            #[test]
            fn the_pattern_parses_to_its_cents(whole in 0u64..1_000_000_000, cents in 0u64..100, short in any::<bool>()) {
                let text = if short && cents % 10 == 0 {
                    format!("{whole}.{}", cents / 10)
                } else {
                    format!("{whole}.{cents:02}")
                };
                let parsed = Money::parse(&text).map(Money::cents);
                prop_assert_eq!(parsed, Ok(i64::try_from(whole * 100 + cents).unwrap_or(i64::MAX)));
            }

            /// Whatever parses matches the pattern, and prints back as the
            /// same amount.
            #[test]
            fn whatever_parses_matches_the_pattern(text in "[0-9 .eE+-]{0,14}|\\PC{0,12}") {
                if let Ok(money) = Money::parse(&text) {
                    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "0"));
                    prop_assert!(!whole.is_empty() && whole.len() <= MAX_WHOLE_DIGITS);
                    prop_assert!(whole.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert!(whole == "0" || !whole.starts_with('0'));
                    prop_assert!((1..=2).contains(&fraction.len()));
                    prop_assert!(fraction.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert_eq!(Money::parse(&money.to_string()), Ok(money.rounded()));
                }
            }
        }
    }

    #[test]
    fn pro_rata_keeps_precision_until_rounded() {
        let year = Money::parse("25.00").unwrap_or_default();
        assert_eq!(year.pro_rata(100, 365).rounded().to_string(), "6.85");
    }
}
