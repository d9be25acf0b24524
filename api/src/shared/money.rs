//! Money in the API: decimal strings in euro with two decimals.

/// `3050` → `"30.50"`.
pub fn cents_text(cents: i64) -> String {
    domain::Money::from_cents(cents).to_string()
}

/// `"30.50"` → `3050`; `None` when not a non-negative amount with at most
/// two decimals.
pub fn parse_cents(text: &str) -> Option<i64> {
    domain::Money::parse(text).ok().map(domain::Money::cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(cents_text(3050), "30.50");
        assert_eq!(parse_cents("30.50"), Some(3050));
        assert_eq!(parse_cents("30.5"), Some(3050));
        assert_eq!(parse_cents("-1"), None);
        assert_eq!(parse_cents("1.001"), None);
    }
}
