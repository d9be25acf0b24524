//! Place codes an address is written in: the ISO 3166-1 alpha-2 countries
//! and the sigle of the Italian provinces. Closed lists, so a typo ("IY",
//! "MX" for Milano) is refused where it is typed, not by SdI weeks later.

/// The officially assigned ISO 3166-1 alpha-2 codes (249), plus `XK`
/// (Kosovo), user-assigned but what Kosovo's addresses are written with.
/// Sorted, for the binary search.
const COUNTRIES: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The sigle of the Italian provinces and metropolitan cities (107), plus
/// the Sardinian ones that were abolished or re-created in the regional
/// reorganisations (CI, OG, OT, VS): an address written with them still
/// names a real place. Sorted, for the binary search.
const PROVINCE: [&str; 111] = [
    "AG", "AL", "AN", "AO", "AP", "AQ", "AR", "AT", "AV", "BA", "BG", "BI", "BL", "BN", "BO", "BR",
    "BS", "BT", "BZ", "CA", "CB", "CE", "CH", "CI", "CL", "CN", "CO", "CR", "CS", "CT", "CZ", "EN",
    "FC", "FE", "FG", "FI", "FM", "FR", "GE", "GO", "GR", "IM", "IS", "KR", "LC", "LE", "LI", "LO",
    "LT", "LU", "MB", "MC", "ME", "MI", "MN", "MO", "MS", "MT", "NA", "NO", "NU", "OG", "OR", "OT",
    "PA", "PC", "PD", "PE", "PG", "PI", "PN", "PO", "PR", "PT", "PU", "PV", "PZ", "RA", "RC", "RE",
    "RG", "RI", "RM", "RN", "RO", "SA", "SI", "SO", "SP", "SR", "SS", "SU", "SV", "TA", "TE", "TN",
    "TO", "TP", "TR", "TS", "TV", "UD", "VA", "VB", "VC", "VE", "VI", "VR", "VS", "VT", "VV",
];

/// An ISO 3166-1 alpha-2 country code, upper case (`IT`, `DE`).
pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The sigla of an Italian province, upper case (`MI`, `RM`).
pub fn is_italian_provincia(code: &str) -> bool {
    PROVINCE.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_sorted_without_repeats_so_the_search_finds_every_code() {
        for list in [&COUNTRIES[..], &PROVINCE[..]] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(
                list.iter()
                    .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
            );
        }
        assert!(COUNTRIES.iter().all(|c| is_country(c)));
        assert!(PROVINCE.iter().all(|c| is_italian_provincia(c)));
    }

    #[test]
    fn real_codes_are_known_and_look_alikes_are_not() {
        for country in ["IT", "SM", "VA", "DE", "GR", "GB", "US", "XK"] {
            assert!(is_country(country), "{country}");
        }
        // EL is Greece's VAT prefix, UK the United Kingdom's: not ISO 3166.
        for not_a_country in ["EL", "UK", "EU", "IY", "it", "ITA", ""] {
            assert!(!is_country(not_a_country), "{not_a_country}");
        }
        for provincia in ["MI", "RM", "BT", "MB", "SU", "FM", "AO", "BZ"] {
            assert!(is_italian_provincia(provincia), "{provincia}");
        }
        for not_a_provincia in ["MX", "ZZ", "EE", "mi", "MIL", ""] {
            assert!(!is_italian_provincia(not_a_provincia), "{not_a_provincia}");
        }
    }
}
