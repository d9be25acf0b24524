//! FatturaPA's decimal types, read exactly: an optional minus, 1 to 11
//! digits before the point and 2 to 8 after it (Amount2DecimalType,
//! Amount8DecimalType, RateType), surrounding whitespace ignored. The
//! value keeps its scale ("0.010" stays three places).

use rust_decimal::Decimal;

pub(crate) const MAX_WHOLE_DIGITS: usize = 11;
pub(crate) const MIN_PLACES: usize = 2;
pub(crate) const MAX_PLACES: usize = 8;

pub(crate) fn parse(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.')?;
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let shaped = (1..=MAX_WHOLE_DIGITS).contains(&whole.len())
        && (MIN_PLACES..=MAX_PLACES).contains(&fraction.len())
        && digits(whole)
        && digits(fraction);
    // At most 19 digits: always within a Decimal's 28.
    shaped.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn takes_two_to_eight_places_and_surrounding_whitespace() {
        for (text, shown) in [
            ("5.00", "5.00"),
            (" 22.00\n", "22.00"),
            ("0.010", "0.010"),
            ("-1.50", "-1.50"),
            ("12345678901.12345678", "12345678901.12345678"),
        ] {
            assert_eq!(
                parse(text).map(|d| d.to_string()).as_deref(),
                Some(shown),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for text in [
            "5",
            "5.0",
            "5.123456789",
            ".50",
            "5.",
            "+5.00",
            "5,00",
            "1 000.00",
            "",
            "-",
            "123456789012.00",
            "1e3",
            "0x10.00",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
