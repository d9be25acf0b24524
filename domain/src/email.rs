//! An email address as the wizard and the contacts keep it (a PEC is one
//! too: nothing in its spelling tells it apart).

use std::fmt;

/// A plausible email address: at most 254 characters, no spaces or control
/// characters, exactly one `@` with 1-64 characters before it and a domain
/// with an inner dot after it. The api's `email_error` asks this rule,
/// so an address is judged alike wherever it is typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an email address")]
pub struct EmailError;

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let valid = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if valid {
            Ok(EmailAddress(text.to_owned()))
        } else {
            Err(EmailError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_are_kept_as_written() {
        for address in [
            "mario.rossi@example.it",
            "fatture@pec.alfa-srl.it",
            "a@b.co",
        ] {
            let parsed = EmailAddress::parse(address).unwrap_or_else(|e| panic!("{address}: {e}"));
            assert_eq!(parsed.as_str(), address);
        }
    }

    #[test]
    fn implausible_addresses_are_refused() {
        let long_local = format!("{}@example.it", "a".repeat(65));
        let long = format!("a@{}.it", "b".repeat(251));
        for address in [
            "",
            "mario",
            "@example.it",
            "mario@",
            "mario@example",
            "mario@.example.it",
            "mario@example.it.",
            "mario@@example.it",
            "mario@a@example.it",
            "mario rossi@example.it",
            " mario@example.it",
            "mario@example.it\n",
            long_local.as_str(),
            long.as_str(),
        ] {
            assert_eq!(EmailAddress::parse(address), Err(EmailError), "{address:?}");
        }
    }
}
