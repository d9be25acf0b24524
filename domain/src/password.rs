//! The password policy of OWASP ASVS 5 (V6.2): a length range, no composition rules, no common passwords.
//!
//! Length is counted in Unicode scalar values (`char`s), and a password is
//! never truncated: one that is too long is refused, not shortened. The
//! list of common passwords is `data/common-passwords.txt`, compiled in and
//! compared case-insensitively.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// Common passwords, one a line, lower-cased once on first use.
static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_lowercase)
        .collect()
});

/// Why a candidate password was refused. Never carries the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has at least {min} characters")]
    TooShort { min: usize },
    #[error("a password has at most {max} characters")]
    TooLong { max: usize },
    #[error("this password is too common; choose another one")]
    TooCommon,
    #[error("a password may not be your username or e-mail address")]
    MatchesUserData,
}

impl PasswordError {
    /// A stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::TooShort { .. } => "password_too_short",
            PasswordError::TooLong { .. } => "password_too_long",
            PasswordError::TooCommon => "password_too_common",
            PasswordError::MatchesUserData => "password_matches_user_data",
        }
    }
}

/// The rules a password must satisfy when it is set (not when it is used to
/// log in: a login only compares hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
}

impl PasswordPolicy {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    /// The policy of ASVS V6.2: 12 to 128 characters, not a common password.
    pub const fn new() -> Self {
        PasswordPolicy {
            min_chars: Self::MIN_CHARS,
            max_chars: Self::MAX_CHARS,
        }
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    pub fn check(&self, candidate: &str) -> Result<(), PasswordError> {
        self.check_with_context(candidate, &[])
    }

    /// Like [`PasswordPolicy::check`], and also refuses a password equal
    /// (ignoring case and the surrounding whitespace of `user_data`) to one
    /// of `user_data`: the username, the e-mail address, and so on.
    pub fn check_with_context(
        &self,
        candidate: &str,
        user_data: &[&str],
    ) -> Result<(), PasswordError> {
        let chars = candidate.chars().count();
        if chars < self.min_chars {
            return Err(PasswordError::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            return Err(PasswordError::TooLong {
                max: self.max_chars,
            });
        }
        let lowered = candidate.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered) {
            return Err(PasswordError::TooCommon);
        }
        let matches_user_data = user_data
            .iter()
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
            .any(|value| value.to_lowercase() == lowered);
        if matches_user_data {
            return Err(PasswordError::MatchesUserData);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// A password that satisfied the policy when it was chosen, ready to be
/// hashed. Its `Debug` output is redacted, and it has no `Display`.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(candidate: &str, policy: &PasswordPolicy) -> Result<Self, PasswordError> {
        Self::parse_with_context(candidate, policy, &[])
    }

    pub fn parse_with_context(
        candidate: &str,
        policy: &PasswordPolicy,
        user_data: &[&str],
    ) -> Result<Self, PasswordError> {
        policy.check_with_context(candidate, user_data)?;
        Ok(NewPassword(candidate.to_owned()))
    }

    /// The password exactly as typed, to be hashed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// 32 symbols without look-alikes: no `0`/`o`/`O`, `1`/`l`/`I`, nor upper
/// case at all.
const TEMPORARY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A temporary password built from 24 random bytes (the caller draws them
/// from a CSPRNG: the domain does no I/O): 16 symbols of a 32-letter
/// unambiguous alphabet in groups of four, `"xxxx-xxxx-xxxx-xxxx"`, 80 bits
/// of entropy. Each symbol folds 12 bits of input, so every byte is used
/// and uniform bytes give uniform symbols. The result always satisfies
/// [`PasswordPolicy::new`].
pub fn temporary_password_from_entropy(bytes: &[u8; 24]) -> String {
    let mut password = String::with_capacity(19);
    let chunks = bytes.chunks_exact(3).flat_map(|three| {
        let (a, b, c) = (
            u16::from(three[0]),
            u16::from(three[1]),
            u16::from(three[2]),
        );
        [(a << 4) | (b >> 4), ((b & 0x0f) << 8) | c]
    });
    for (index, chunk) in chunks.enumerate() {
        if index > 0 && index % 4 == 0 {
            password.push('-');
        }
        password.push(char::from(TEMPORARY_ALPHABET[symbol_index(chunk)]));
    }
    password
}

/// Folds 12 bits into 5 by exclusive or: uniform in, uniform out.
fn symbol_index(chunk: u16) -> usize {
    usize::from((chunk ^ (chunk >> 5) ^ (chunk >> 10)) & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: PasswordPolicy = PasswordPolicy::new();

    #[test]
    fn twelve_characters_pass_and_eleven_do_not() {
        assert_eq!(POLICY.check("kq9!Zr7x-aB3"), Ok(()));
        assert_eq!(
            POLICY.check("kq9!Zr7x-aB"),
            Err(PasswordError::TooShort { min: 12 })
        );
        assert_eq!(POLICY.check(""), Err(PasswordError::TooShort { min: 12 }));
    }

    #[test]
    fn one_hundred_twenty_eight_characters_pass_and_129_do_not() {
        let longest = "kq9!Zr7x".repeat(16);
        assert_eq!(longest.chars().count(), 128);
        assert_eq!(POLICY.check(&longest), Ok(()));
        let too_long = format!("{longest}z");
        assert_eq!(
            POLICY.check(&too_long),
            Err(PasswordError::TooLong { max: 128 })
        );
    }

    #[test]
    fn a_long_password_is_refused_not_truncated() {
        let longest = "kq9!Zr7x".repeat(16);
        let longer = format!("{longest}z");
        assert_ne!(longest, longer);
        assert!(NewPassword::parse(&longest, &POLICY).is_ok());
        assert!(NewPassword::parse(&longer, &POLICY).is_err());
        let parsed = NewPassword::parse(&longest, &POLICY)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_string();
        assert_eq!(parsed, longest);
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        let twelve = "è".repeat(12);
        assert_eq!(twelve.len(), 24);
        assert_eq!(POLICY.check(&twelve), Ok(()));
        assert_eq!(
            POLICY.check(&"è".repeat(11)),
            Err(PasswordError::TooShort { min: 12 })
        );
        // 128 two-byte characters: 256 bytes, still within the limit.
        assert_eq!(POLICY.check(&"è".repeat(128)), Ok(()));
        assert_eq!(
            POLICY.check(&"è".repeat(129)),
            Err(PasswordError::TooLong { max: 128 })
        );
        // Four-byte characters too.
        assert_eq!(POLICY.check(&"🔑".repeat(12)), Ok(()));
    }

    #[test]
    fn there_are_no_composition_rules() {
        for candidate in [
            "tutto minuscolo e senza cifre",
            "482916375024",
            "SOLO MAIUSCOLE QUI",
            "            spazi iniziali",
        ] {
            assert_eq!(POLICY.check(candidate), Ok(()), "{candidate}");
        }
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for candidate in [
            "password1234",
            "PassWord1234",
            "QWERTYUIOPAS",
            "123456789012",
            "passwordpassword",
            "Juventus2020!",
            "forzainter12",
            "ciaociao1234",
            "correcthorsebatterystaple",
        ] {
            assert_eq!(
                POLICY.check(candidate),
                Err(PasswordError::TooCommon),
                "{candidate}"
            );
        }
    }

    #[test]
    fn the_common_list_is_substantial() {
        let relevant = COMMON_PASSWORDS
            .iter()
            .filter(|entry| (12..=128).contains(&entry.chars().count()))
            .count();
        assert!(relevant >= 200, "only {relevant} entries of 12+ characters");
        assert!(COMMON_PASSWORDS.contains("123456"));
    }

    #[test]
    fn a_password_equal_to_user_data_is_refused() {
        let user_data = ["mario.rossi", " Mario.Rossi@Example.it ", ""];
        assert_eq!(
            POLICY.check_with_context("mario.rossi@example.it", &user_data),
            Err(PasswordError::MatchesUserData)
        );
        assert_eq!(
            POLICY.check_with_context("kq9!Zr7x-aB3", &user_data),
            Ok(())
        );
        assert!(
            NewPassword::parse_with_context("MARIO.ROSSI@EXAMPLE.IT", &POLICY, &user_data).is_err()
        );
        // Without the context the same password is acceptable.
        assert_eq!(POLICY.check("mario.rossi@example.it"), Ok(()));
    }

    #[test]
    fn errors_have_stable_codes_and_messages() {
        let cases = [
            (PasswordError::TooShort { min: 12 }, "password_too_short"),
            (PasswordError::TooLong { max: 128 }, "password_too_long"),
            (PasswordError::TooCommon, "password_too_common"),
            (PasswordError::MatchesUserData, "password_matches_user_data"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
            assert!(!error.to_string().is_empty());
        }
        assert_eq!(
            PasswordError::TooShort { min: 12 }.to_string(),
            "a password has at least 12 characters"
        );
    }

    #[test]
    fn a_new_password_keeps_its_text_and_hides_it_from_debug() {
        let password = NewPassword::parse("kq9!Zr7x-aB3", &PasswordPolicy::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(password.as_str(), "kq9!Zr7x-aB3");
        assert_eq!(format!("{password:?}"), "NewPassword(<redacted>)");
    }

    #[test]
    fn temporary_passwords_have_the_documented_shape() {
        assert_eq!(
            temporary_password_from_entropy(&[0; 24]),
            "aaaa-aaaa-aaaa-aaaa"
        );
        let other = temporary_password_from_entropy(&[0xff; 24]);
        assert_eq!(other.len(), 19);
        assert_ne!(other, "aaaa-aaaa-aaaa-aaaa");
    }

    #[test]
    fn temporary_password_symbols_are_uniform() {
        let mut counts = [0u32; 32];
        for chunk in 0u16..4096 {
            counts[symbol_index(chunk)] += 1;
        }
        assert!(counts.iter().all(|&count| count == 128), "{counts:?}");
    }

    #[test]
    fn no_common_password_looks_like_a_temporary_one() {
        let shaped = |entry: &str| {
            entry.len() == 19
                && entry.bytes().enumerate().all(|(index, byte)| {
                    if index % 5 == 4 {
                        byte == b'-'
                    } else {
                        TEMPORARY_ALPHABET.contains(&byte)
                    }
                })
        };
        assert!(!COMMON_PASSWORDS.iter().any(|entry| shaped(entry)));
    }

    proptest! {
        #[test]
        fn temporary_passwords_satisfy_the_policy(bytes in any::<[u8; 24]>()) {
            let password = temporary_password_from_entropy(&bytes);
            prop_assert_eq!(POLICY.check(&password), Ok(()));
            prop_assert_eq!(password.chars().count(), 19);
            for (index, byte) in password.bytes().enumerate() {
                if index % 5 == 4 {
                    prop_assert_eq!(byte, b'-');
                } else {
                    prop_assert!(TEMPORARY_ALPHABET.contains(&byte));
                    prop_assert!(!b"0oO1lI".contains(&byte));
                }
            }
        }

        #[test]
        fn every_input_byte_matters(
            bytes in any::<[u8; 24]>(),
            position in 0usize..24,
            bit in 0u8..8,
        ) {
            let mut flipped = bytes;
            flipped[position] ^= 1 << bit;
            prop_assert_ne!(
                temporary_password_from_entropy(&bytes),
                temporary_password_from_entropy(&flipped)
            );
        }
    }
}
