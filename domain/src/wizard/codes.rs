//! The FatturaPA code lists the wizard chooses from, and its percentages.
//! Each code is a newtype over the list's own spelling, so a value that
//! exists is one of the list.

use rust_decimal::Decimal;
use std::fmt;

macro_rules! code_list {
    ($(#[$doc:meta])* $name:ident, $list:ident, [$($code:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(&'static str);

        const $list: &[&str] = &[$($code),+];

        impl $name {
            /// Every code of the list, in its order.
            pub fn all() -> impl Iterator<Item = $name> {
                $list.iter().map(|code| $name(code))
            }

            /// The code as written, exactly (upper case, no spaces).
            pub fn parse(text: &str) -> Option<$name> {
                $list.iter().find(|code| **code == text).map(|code| $name(code))
            }

            pub fn as_str(self) -> &'static str {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
    };
}

code_list!(
    /// RegimeFiscale of the cedente: RF01..RF19. RF03 was withdrawn from
    /// the specification; RF20 (franchigia IVA transfrontaliera, schema
    /// 1.2.3 of 2025) is not offered, as issue 10 asks RF01..RF19.
    RegimeFiscale,
    REGIMI_FISCALI,
    [
        "RF01", "RF02", "RF04", "RF05", "RF06", "RF07", "RF08", "RF09", "RF10", "RF11", "RF12",
        "RF13", "RF14", "RF15", "RF16", "RF17", "RF18", "RF19",
    ]
);

code_list!(
    /// TipoCassa of DatiCassaPrevidenziale: TC01..TC22, all assigned.
    TipoCassa,
    TIPI_CASSA,
    [
        "TC01", "TC02", "TC03", "TC04", "TC05", "TC06", "TC07", "TC08", "TC09", "TC10", "TC11",
        "TC12", "TC13", "TC14", "TC15", "TC16", "TC17", "TC18", "TC19", "TC20", "TC21", "TC22",
    ]
);

code_list!(
    /// Natura of a non-taxed amount, as schema 1.2.2 lists it: N1, N4, N5,
    /// N7 alone, N2, N3 and N6 only through their sub-codes. The bare N2,
    /// N3 and N6 were removed from the schema (SdI refuses them since
    /// 2021), so they are refused here too.
    Natura,
    NATURE,
    [
        "N1", "N2.1", "N2.2", "N3.1", "N3.2", "N3.3", "N3.4", "N3.5", "N3.6", "N4", "N5", "N6.1",
        "N6.2", "N6.3", "N6.4", "N6.5", "N6.6", "N6.7", "N6.8", "N6.9", "N7",
    ]
);

code_list!(
    /// TipoDocumento of FatturaPA (FPR12/FPA12): TD01-TD06 and TD16-TD28
    /// as in schema 1.2.2, and TD29 (comunicazione per omessa o irregolare
    /// fatturazione), added by schema 1.2.3 in force from 1 April 2025,
    /// as issue 10 asks TD01..TD29. TD07-TD09 belong to the simplified
    /// invoice (FSM10) and TD10-TD15 never existed in FatturaPA.
    TipoDocumento,
    TIPI_DOCUMENTO,
    [
        "TD01", "TD02", "TD03", "TD04", "TD05", "TD06", "TD16", "TD17", "TD18", "TD19", "TD20",
        "TD21", "TD22", "TD23", "TD24", "TD25", "TD26", "TD27", "TD28", "TD29",
    ]
);

/// A percentage from "0.00" to "100.00", written with exactly two decimals
/// and no leading zero ("4.00", "22.00"): FatturaPA's RateType, one
/// spelling per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentuale(Decimal);

impl Percentuale {
    pub fn parse(text: &str) -> Option<Percentuale> {
        let (whole, fraction) = text.split_once('.')?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let shaped = digits(whole)
            && whole.len() <= 3
            && !(whole.len() > 1 && whole.starts_with('0'))
            && digits(fraction)
            && fraction.len() == 2;
        if !shaped {
            return None;
        }
        // At most 3 + 2 ASCII digits: always a valid Decimal.
        let value: Decimal = text.parse().ok()?;
        (value <= Decimal::ONE_HUNDRED).then_some(Percentuale(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Percentuale {
    /// Always two decimals, as parsed: "4.00".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        value.rescale(2);
        write!(f, "{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn regime_fiscale_is_rf01_to_rf19_without_rf03() {
        assert_eq!(RegimeFiscale::all().count(), 18);
        assert_eq!(
            RegimeFiscale::parse("RF01").map(RegimeFiscale::as_str),
            Some("RF01")
        );
        assert_eq!(
            RegimeFiscale::parse("RF19").map(RegimeFiscale::as_str),
            Some("RF19")
        );
        for refused in ["RF03", "RF00", "RF20", "rf01", "RF1", " RF01", ""] {
            assert_eq!(RegimeFiscale::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn tipo_cassa_is_tc01_to_tc22() {
        assert_eq!(TipoCassa::all().count(), 22);
        assert_eq!(
            TipoCassa::parse("TC22").map(TipoCassa::as_str),
            Some("TC22")
        );
        assert_eq!(
            TipoCassa::parse("TC01").map(TipoCassa::as_str),
            Some("TC01")
        );
        for refused in ["TC23", "TC00", "TC1", "tc01"] {
            assert_eq!(TipoCassa::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn natura_takes_the_sub_codes_and_refuses_the_bare_n2_n3_n6() {
        let all: Vec<&str> = Natura::all().map(Natura::as_str).collect();
        assert_eq!(all.len(), 21);
        for accepted in [
            "N1", "N2.1", "N2.2", "N3.1", "N3.6", "N4", "N5", "N6.1", "N6.9", "N7",
        ] {
            assert_eq!(Natura::parse(accepted).map(Natura::as_str), Some(accepted));
        }
        for refused in [
            "N2", "N3", "N6", "N2.3", "N3.7", "N6.10", "N8", "N0", "n1", "N1.1",
        ] {
            assert_eq!(Natura::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn tipo_documento_is_the_fatturapa_list() {
        let all: Vec<&str> = TipoDocumento::all().map(TipoDocumento::as_str).collect();
        let mut expected: Vec<String> = (1..=6).map(|n| format!("TD{n:02}")).collect();
        expected.extend((16..=29).map(|n| format!("TD{n}")));
        assert_eq!(all, expected);
        for refused in [
            "TD07", "TD08", "TD09", "TD10", "TD15", "TD30", "TD00", "td01",
        ] {
            assert_eq!(TipoDocumento::parse(refused), None, "{refused}");
        }
    }

    #[test]
    fn percentages_have_two_decimals_and_stay_within_0_and_100() {
        for (text, shown) in [
            ("0.00", "0.00"),
            ("4.00", "4.00"),
            ("22.00", "22.00"),
            ("99.99", "99.99"),
            ("100.00", "100.00"),
        ] {
            let parsed = Percentuale::parse(text).map(|p| p.to_string());
            assert_eq!(parsed.as_deref(), Some(shown), "{text}");
        }
        for refused in [
            "4.0", "4", "4.", ".50", "100.001", "101.00", "100.01", "04.00", "00.00", "1000.00",
            "-1.00", "+4.00", "4,00", " 4.00", "4.00 ", "1e2", "",
        ] {
            assert_eq!(Percentuale::parse(refused), None, "{refused:?}");
        }
        assert!(Percentuale::parse("0.00").is_some_and(Percentuale::is_zero));
        assert_eq!(
            Percentuale::parse("22.00").map(Percentuale::value),
            Some(Decimal::new(22, 0))
        );
    }

    proptest! {
        #[test]
        fn every_two_decimal_percentage_reads_back_as_written(hundredths in 0u32..=10_000) {
            let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
            let parsed = Percentuale::parse(&text);
            prop_assert_eq!(parsed.map(|p| p.to_string()), Some(text));
        }

        #[test]
        fn nothing_above_100_parses(hundredths in 10_001u32..100_000) {
            let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
            prop_assert_eq!(Percentuale::parse(&text), None);
        }
    }
}
