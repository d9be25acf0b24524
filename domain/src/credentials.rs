//! Panel credentials: the username derived from the holder's tax id and a
//! random temporary password that always meets the policy.

use crate::password::temporary_password_from_entropy;

/// The panel username of a holder: the tax id, lower-cased, prefixed (one FE
/// per tax id, so it is unique).
pub fn panel_username(holder_tax_id: &str) -> String {
    format!("fe-{}", holder_tax_id.trim().to_ascii_lowercase())
}

/// A temporary password from 24 random bytes (the caller draws them).
pub fn temporary_password(entropy: &[u8; 24]) -> String {
    temporary_password_from_entropy(entropy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordPolicy;

    #[test]
    fn the_username_comes_from_the_tax_id() {
        assert_eq!(panel_username(" RSSMRA85T10A562S "), "fe-rssmra85t10a562s");
        assert_eq!(panel_username("01234567897"), "fe-01234567897");
    }

    #[test]
    fn temporary_passwords_meet_the_policy() {
        let password = temporary_password(&[7u8; 24]);
        assert!(PasswordPolicy::new().check(&password).is_ok(), "{password}");
    }
}
