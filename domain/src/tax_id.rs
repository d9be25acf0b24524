//! Italian tax identifiers: Partita IVA and codice fiscale, parsed once and then trusted.

use std::fmt;
use std::str::FromStr;

/// A Partita IVA: exactly 11 digits whose last one is the check digit of
/// the Agenzia delle Entrate. No "IT" prefix, no separators.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitaIva(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitaIvaError {
    #[error("a Partita IVA has {expected} digits here, got {found} characters")]
    Length { expected: usize, found: usize },
    #[error("a Partita IVA is made of digits only (no \"IT\" prefix, no spaces)")]
    NotDigits,
    #[error("the check digit of the Partita IVA does not match: probably a typo")]
    CheckDigit,
}

impl PartitaIva {
    /// Parses 11 digits (surrounding whitespace is ignored) and verifies the
    /// check digit.
    pub fn parse(text: &str) -> Result<Self, PartitaIvaError> {
        let digits = eleven_digits(text.trim())?;
        if check_digit(&digits[..10]) == digits[10] {
            Ok(PartitaIva(text.trim().to_owned()))
        } else {
            Err(PartitaIvaError::CheckDigit)
        }
    }

    /// Completes the first ten digits with the right check digit; meant for
    /// generating valid test data.
    pub fn with_check_digit(first_ten: &str) -> Result<Self, PartitaIvaError> {
        let first_ten = first_ten.trim();
        let digits = digits_of(first_ten, 10)?;
        let mut text = first_ten.to_owned();
        text.push(char::from(b'0' + check_digit(&digits)));
        Ok(PartitaIva(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartitaIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PartitaIva {
    type Err = PartitaIvaError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A codice fiscale: either the 16-character code of a natural person
/// (omocodia variants included), or the 11-digit code of a company or
/// other entity. Always stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodiceFiscale(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodiceFiscaleError {
    #[error("a codice fiscale has 16 characters (11 digits for an entity), got {found}")]
    Length { found: usize },
    #[error("not in the format of a codice fiscale")]
    Format,
    #[error("the check character of the codice fiscale does not match: probably a typo")]
    CheckCharacter,
}

impl CodiceFiscale {
    /// Parses a codice fiscale, ignoring surrounding whitespace and case.
    pub fn parse(text: &str) -> Result<Self, CodiceFiscaleError> {
        let text = text.trim().to_ascii_uppercase();
        match text.chars().count() {
            11 => {
                let digits = eleven_digits(&text).map_err(|_| CodiceFiscaleError::Format)?;
                if check_digit(&digits[..10]) == digits[10] {
                    Ok(CodiceFiscale(text))
                } else {
                    Err(CodiceFiscaleError::CheckCharacter)
                }
            }
            16 => {
                let bytes = text.as_bytes();
                if !person_format(bytes) {
                    return Err(CodiceFiscaleError::Format);
                }
                if check_character(&bytes[..15]) == bytes[15] {
                    Ok(CodiceFiscale(text))
                } else {
                    Err(CodiceFiscaleError::CheckCharacter)
                }
            }
            found => Err(CodiceFiscaleError::Length { found }),
        }
    }

    /// The 11-digit (entity) codice fiscale with the right check digit
    /// appended to `first_ten`; meant for generating valid test data. It
    /// fails exactly as [`PartitaIva::with_check_digit`] does.
    pub fn numeric_with_check_digit(first_ten: &str) -> Result<Self, PartitaIvaError> {
        PartitaIva::with_check_digit(first_ten).map(|piva| CodiceFiscale(piva.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the 11-digit form used by companies and other entities.
    pub fn is_numeric(&self) -> bool {
        self.0.len() == 11
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CodiceFiscale {
    type Err = CodiceFiscaleError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// The digit values of `text`, which must be exactly `expected` ASCII digits.
fn digits_of(text: &str, expected: usize) -> Result<Vec<u8>, PartitaIvaError> {
    let found = text.chars().count();
    if found != expected {
        return Err(PartitaIvaError::Length { expected, found });
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PartitaIvaError::NotDigits);
    }
    Ok(text.bytes().map(|b| b - b'0').collect())
}

fn eleven_digits(text: &str) -> Result<Vec<u8>, PartitaIvaError> {
    digits_of(text, 11)
}

/// The Agenzia delle Entrate check digit of ten digits: digits in odd
/// positions (1st, 3rd, …) are summed as they are, those in even positions
/// are doubled (minus 9 when above 9); the check digit brings the sum to a
/// multiple of ten.
fn check_digit(first_ten: &[u8]) -> u8 {
    let sum: u32 = first_ten
        .iter()
        .enumerate()
        .map(|(index, &digit)| {
            let digit = u32::from(digit);
            if index % 2 == 0 {
                digit
            } else if digit * 2 > 9 {
                digit * 2 - 9
            } else {
                digit * 2
            }
        })
        .sum();
    // `(10 - sum % 10) % 10` is below 10, so the cast cannot truncate.
    ((10 - sum % 10) % 10) as u8
}

/// Digits, or the letters that replace them in an omocodia variant.
fn is_omocodia_digit(byte: u8) -> bool {
    byte.is_ascii_digit() || b"LMNPQRSTUV".contains(&byte)
}

/// The shape of a natural person's code: surname and name (6 letters),
/// year (2), month letter, day (2, +40 for women), birthplace (letter and
/// 3), check letter. Expects upper case.
fn person_format(bytes: &[u8]) -> bool {
    let letter = |b: &u8| b.is_ascii_uppercase();
    let digit = |b: &u8| is_omocodia_digit(*b);
    bytes.len() == 16
        && bytes[0..6].iter().all(letter)
        && bytes[6..8].iter().all(digit)
        && b"ABCDEHLMPRST".contains(&bytes[8])
        && bytes[9..11].iter().all(digit)
        && letter(&bytes[11])
        && bytes[12..15].iter().all(digit)
        && letter(&bytes[15])
}

/// Values of characters in odd positions (1st, 3rd, …), for 'A'..='Z'; a
/// digit counts as the letter of the same rank ('0' as 'A').
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// The check letter of the first 15 (upper-case, alphanumeric) characters
/// of a natural person's codice fiscale.
fn check_character(first_fifteen: &[u8]) -> u8 {
    let sum: u32 = first_fifteen
        .iter()
        .enumerate()
        .map(|(index, &byte)| {
            let rank = if byte.is_ascii_digit() {
                byte - b'0'
            } else {
                byte - b'A'
            };
            if index % 2 == 0 {
                ODD_VALUES[usize::from(rank)]
            } else {
                u32::from(rank)
            }
        })
        .sum();
    // `sum % 26` is below 26, so the cast cannot truncate.
    b'A' + (sum % 26) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn piva(text: &str) -> PartitaIva {
        PartitaIva::parse(text).unwrap_or_else(|e| panic!("{text} should be valid: {e}"))
    }

    fn cf(text: &str) -> CodiceFiscale {
        CodiceFiscale::parse(text).unwrap_or_else(|e| panic!("{text} should be valid: {e}"))
    }

    #[test]
    fn accepts_valid_partite_iva() {
        // Check digits verified with an independent Python implementation.
        for text in ["01234567897", "00743110157", "12345678903", "00488410010"] {
            assert_eq!(piva(text).as_str(), text);
        }
        assert_eq!(piva("  07643520567\n").to_string(), "07643520567");
        assert_eq!("01234567897".parse::<PartitaIva>(), Ok(piva("01234567897")));
    }

    #[test]
    fn rejects_partite_iva_of_the_wrong_length() {
        assert_eq!(
            PartitaIva::parse("0123456789"),
            Err(PartitaIvaError::Length {
                expected: 11,
                found: 10
            })
        );
        assert_eq!(
            PartitaIva::parse("IT01234567897"),
            Err(PartitaIvaError::Length {
                expected: 11,
                found: 13
            })
        );
        assert_eq!(
            PartitaIva::parse(""),
            Err(PartitaIvaError::Length {
                expected: 11,
                found: 0
            })
        );
    }

    #[test]
    fn rejects_partite_iva_that_are_not_digits() {
        assert_eq!(
            PartitaIva::parse("0123456789A"),
            Err(PartitaIvaError::NotDigits)
        );
        assert_eq!(
            PartitaIva::parse("01234 67897"),
            Err(PartitaIvaError::NotDigits)
        );
        // Eleven characters, one of them multi-byte: counted as characters.
        assert_eq!(
            PartitaIva::parse("0123456789è"),
            Err(PartitaIvaError::NotDigits)
        );
        assert_eq!(
            PartitaIva::parse("٠١٢٣٤٥٦٧٨٩٧"),
            Err(PartitaIvaError::NotDigits)
        );
    }

    #[test]
    fn rejects_partite_iva_with_a_wrong_check_digit() {
        assert_eq!(
            PartitaIva::parse("01234567898"),
            Err(PartitaIvaError::CheckDigit)
        );
        // Two adjacent digits swapped.
        assert_eq!(
            PartitaIva::parse("10234567897"),
            Err(PartitaIvaError::CheckDigit)
        );
    }

    #[test]
    fn completes_a_partita_iva_with_its_check_digit() {
        assert_eq!(
            PartitaIva::with_check_digit("0123456789"),
            Ok(piva("01234567897"))
        );
        assert_eq!(
            PartitaIva::with_check_digit("01234567897"),
            Err(PartitaIvaError::Length {
                expected: 10,
                found: 11
            })
        );
        assert_eq!(
            PartitaIva::with_check_digit("012345678x"),
            Err(PartitaIvaError::NotDigits)
        );
    }

    #[test]
    fn error_messages_are_human() {
        assert_eq!(
            PartitaIvaError::Length {
                expected: 11,
                found: 13
            }
            .to_string(),
            "a Partita IVA has 11 digits here, got 13 characters"
        );
        assert!(
            PartitaIvaError::CheckDigit
                .to_string()
                .contains("check digit")
        );
        assert!(
            CodiceFiscaleError::Length { found: 15 }
                .to_string()
                .contains("16 characters")
        );
    }

    #[test]
    fn accepts_valid_codici_fiscali_of_persons() {
        // Check characters verified with an independent Python implementation.
        for text in [
            "RSSMRA85T10A562S",
            "MRTMTT25D09F205Z",
            "BNCGNN80A01F205W",
            // A woman: day of birth + 40.
            "VRDLGU70M41H501J",
            // Omocodia: the last digit of the birthplace replaced by 'N'.
            "RSSMRA85T10A56NH",
        ] {
            let code = cf(text);
            assert_eq!(code.as_str(), text);
            assert!(!code.is_numeric());
        }
    }

    #[test]
    fn normalises_codici_fiscali_to_upper_case() {
        assert_eq!(cf(" rssmra85t10a562s ").as_str(), "RSSMRA85T10A562S");
        assert_eq!(cf("RssMra85t10A562s").to_string(), "RSSMRA85T10A562S");
        assert_eq!(
            "rssmra85t10a562s".parse::<CodiceFiscale>(),
            Ok(cf("RSSMRA85T10A562S"))
        );
    }

    #[test]
    fn accepts_numeric_codici_fiscali_of_entities() {
        let code = cf("00743110157");
        assert!(code.is_numeric());
        assert_eq!(code.as_str(), "00743110157");
        assert_eq!(
            CodiceFiscale::numeric_with_check_digit("0123456789"),
            Ok(cf("01234567897"))
        );
        assert_eq!(
            CodiceFiscale::numeric_with_check_digit("123"),
            Err(PartitaIvaError::Length {
                expected: 10,
                found: 3
            })
        );
    }

    #[test]
    fn rejects_codici_fiscali_of_the_wrong_length() {
        for (text, found) in [("RSSMRA85T10A562", 15), ("RSSMRA85T10A562SX", 17), ("", 0)] {
            assert_eq!(
                CodiceFiscale::parse(text),
                Err(CodiceFiscaleError::Length { found })
            );
        }
    }

    #[test]
    fn rejects_codici_fiscali_in_the_wrong_format() {
        for text in [
            // A digit among the name letters.
            "RSSMR185T10A562S",
            // 'K' is not a month.
            "RSSMRA85K10A562S",
            // 'A' is not an omocodia letter.
            "RSSMRA85T10A56AS",
            // A digit as the check character.
            "RSSMRA85T10A5621",
            // Punctuation and non-ASCII letters.
            "RSSMRA85T10A56-S",
            "RSSMRÀ85T10A562S",
            // Eleven characters that are not all digits.
            "0074311015A",
        ] {
            assert_eq!(
                CodiceFiscale::parse(text),
                Err(CodiceFiscaleError::Format),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_codici_fiscali_with_a_wrong_check_character() {
        assert_eq!(
            CodiceFiscale::parse("RSSMRA85T10A562T"),
            Err(CodiceFiscaleError::CheckCharacter)
        );
        assert_eq!(
            CodiceFiscale::parse("RSSMRA85T10A56NS"),
            Err(CodiceFiscaleError::CheckCharacter)
        );
        assert_eq!(
            CodiceFiscale::parse("00743110158"),
            Err(CodiceFiscaleError::CheckCharacter)
        );
    }

    proptest! {
        #[test]
        fn ten_digits_and_their_check_digit_parse(first_ten in "[0-9]{10}") {
            let completed = PartitaIva::with_check_digit(&first_ten);
            prop_assert!(completed.is_ok());
            let completed = completed.unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(&completed.as_str()[..10], first_ten.as_str());
            prop_assert_eq!(PartitaIva::parse(completed.as_str()), Ok(completed.clone()));
            let numeric = CodiceFiscale::parse(completed.as_str());
            prop_assert!(numeric.as_ref().is_ok_and(CodiceFiscale::is_numeric));
        }

        #[test]
        fn changing_one_digit_breaks_the_check(
            first_ten in "[0-9]{10}",
            position in 0usize..11,
            shift in 1u8..10,
        ) {
            let valid = PartitaIva::with_check_digit(&first_ten)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut bytes = valid.as_str().as_bytes().to_vec();
            bytes[position] = b'0' + (bytes[position] - b'0' + shift) % 10;
            let changed = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(PartitaIva::parse(&changed), Err(PartitaIvaError::CheckDigit));
            prop_assert_eq!(
                CodiceFiscale::parse(&changed),
                Err(CodiceFiscaleError::CheckCharacter)
            );
        }

        #[test]
        fn changing_one_character_of_a_person_code_breaks_the_check(
            position in 0usize..15,
            replacement in "[A-Z0-9]",
        ) {
            let mut bytes = b"RSSMRA85T10A562S".to_vec();
            let replacement = replacement.as_bytes()[0];
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
            // Either the shape is wrong, or the check letter catches it.
            prop_assert!(CodiceFiscale::parse(&changed).is_err());
        }
    }
}
