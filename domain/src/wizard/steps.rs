//! Steps 2 to 5: regime fiscale, casse previdenziali, document
//! preferences and where notices go.

use super::codes::{Natura, Percentuale, RegimeFiscale, TipoCassa, TipoDocumento};
use super::{Errors, FieldCode, FieldError};
use crate::email::EmailAddress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsigibilitaIva {
    Immediata,
    Differita,
    ScissionePagamenti,
}

impl EsigibilitaIva {
    pub const ALL: [EsigibilitaIva; 3] = [
        EsigibilitaIva::Immediata,
        EsigibilitaIva::Differita,
        EsigibilitaIva::ScissionePagamenti,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EsigibilitaIva::Immediata => "immediata",
            EsigibilitaIva::Differita => "differita",
            EsigibilitaIva::ScissionePagamenti => "scissione_pagamenti",
        }
    }

    pub fn parse(text: &str) -> Option<EsigibilitaIva> {
        EsigibilitaIva::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// FatturaPA's EsigibilitaIVA letter: I, D, S.
    pub fn fatturapa_code(self) -> &'static str {
        match self {
            EsigibilitaIva::Immediata => "I",
            EsigibilitaIva::Differita => "D",
            EsigibilitaIva::ScissionePagamenti => "S",
        }
    }
}

/// The `regime_fiscale` body as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegimeInput {
    pub regime_fiscale: String,
    pub esigibilita_iva: String,
}

/// Step 2, `regime_fiscale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regime {
    pub regime_fiscale: RegimeFiscale,
    pub esigibilita_iva: EsigibilitaIva,
}

impl Regime {
    pub fn parse(input: &RegimeInput) -> Result<Regime, Vec<FieldError>> {
        let mut errors = Errors::default();
        let regime_fiscale = RegimeFiscale::parse(&input.regime_fiscale);
        if regime_fiscale.is_none() {
            errors.add(
                "/regime_fiscale",
                FieldCode::InvalidRegimeFiscale,
                "RF01 to RF19 (there is no RF03)",
            );
        }
        let esigibilita_iva = errors.choice(
            "/esigibilita_iva",
            &input.esigibilita_iva,
            &EsigibilitaIva::ALL,
            EsigibilitaIva::as_str,
        );
        let regime =
            regime_fiscale
                .zip(esigibilita_iva)
                .map(|(regime_fiscale, esigibilita_iva)| Regime {
                    regime_fiscale,
                    esigibilita_iva,
                });
        errors.finish(regime)
    }
}

/// The most casse one service may declare.
pub const MAX_CASSE: usize = 3;

/// One cassa as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CassaInput {
    pub tipo_cassa: String,
    pub aliquota: String,
    pub imponibile_percentuale: String,
    pub aliquota_iva: Option<String>,
    pub natura: Option<String>,
    pub ritenuta: bool,
}

/// The IVA on a cassa's contribution: a rate, or (at 0.00) the natura
/// saying why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IvaCassa {
    /// A rate above zero.
    Aliquota(Percentuale),
    /// No IVA; FatturaPA writes AliquotaIVA 0.00 and this Natura.
    Natura(Natura),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cassa {
    pub tipo_cassa: TipoCassa,
    /// The contribution's rate.
    pub aliquota: Percentuale,
    /// The share of the taxable amount the contribution is computed on.
    pub imponibile_percentuale: Percentuale,
    pub iva: IvaCassa,
    /// The contribution is subject to the ritenuta d'acconto.
    pub ritenuta: bool,
}

/// The `cassa_previdenziale` body as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CasseInput {
    pub casse: Vec<CassaInput>,
}

/// Step 3, `cassa_previdenziale`: 0 to [`MAX_CASSE`], each tipo_cassa once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Casse {
    pub casse: Vec<Cassa>,
}

const RATE_DETAIL: &str = "a percentage from 0.00 to 100.00 with two decimals, e.g. 4.00";

impl Casse {
    pub fn parse(input: &CasseInput) -> Result<Casse, Vec<FieldError>> {
        let mut errors = Errors::default();
        if input.casse.len() > MAX_CASSE {
            errors.add(
                "/casse",
                FieldCode::TooManyCasse,
                format!("at most {MAX_CASSE} casse"),
            );
        }
        let mut seen: Vec<TipoCassa> = Vec::new();
        let mut casse = Vec::new();
        for (index, cassa) in input.casse.iter().enumerate() {
            let at = |field: &str| format!("/casse/{index}/{field}");
            let tipo_cassa = TipoCassa::parse(&cassa.tipo_cassa);
            match tipo_cassa {
                None => errors.add(
                    at("tipo_cassa"),
                    FieldCode::InvalidTipoCassa,
                    "TC01 to TC22",
                ),
                Some(tipo) if seen.contains(&tipo) => errors.add(
                    at("tipo_cassa"),
                    FieldCode::DuplicateTipoCassa,
                    format!("{tipo} is already in an earlier entry"),
                ),
                Some(tipo) => seen.push(tipo),
            }
            let mut rate = |field: &str, text: &str| {
                let rate = Percentuale::parse(text);
                if rate.is_none() {
                    errors.add(at(field), FieldCode::InvalidRate, RATE_DETAIL);
                }
                rate
            };
            let aliquota = rate("aliquota", &cassa.aliquota);
            let imponibile_percentuale =
                rate("imponibile_percentuale", &cassa.imponibile_percentuale);
            let iva = iva(&mut errors, index, cassa);
            if let (Some(tipo_cassa), Some(aliquota), Some(imponibile_percentuale), Some(iva)) =
                (tipo_cassa, aliquota, imponibile_percentuale, iva)
            {
                casse.push(Cassa {
                    tipo_cassa,
                    aliquota,
                    imponibile_percentuale,
                    iva,
                    ritenuta: cassa.ritenuta,
                });
            }
        }
        errors.finish(Some(Casse { casse }))
    }
}

/// aliquota_iva above zero alone, or natura (with aliquota_iva absent or
/// 0.00).
fn iva(errors: &mut Errors, index: usize, cassa: &CassaInput) -> Option<IvaCassa> {
    let at = |field: &str| format!("/casse/{index}/{field}");
    let rate = match cassa.aliquota_iva.as_deref() {
        Some(text) => match Percentuale::parse(text) {
            Some(rate) => Some(Some(rate)),
            None => {
                errors.add(at("aliquota_iva"), FieldCode::InvalidRate, RATE_DETAIL);
                None
            }
        },
        None => Some(None),
    };
    let natura = match cassa.natura.as_deref() {
        Some(text) => match Natura::parse(text) {
            Some(natura) => Some(Some(natura)),
            None => {
                errors.add(
                    at("natura"),
                    FieldCode::InvalidNatura,
                    "N1, N2.1, N2.2, N3.1-N3.6, N4, N5, N6.1-N6.9 or N7",
                );
                None
            }
        },
        None => Some(None),
    };
    match (rate?, natura?) {
        (Some(rate), None) if !rate.is_zero() => Some(IvaCassa::Aliquota(rate)),
        (Some(_), None) => {
            errors.add(
                at("natura"),
                FieldCode::Required,
                "a 0.00 IVA rate needs the natura saying why",
            );
            None
        }
        (Some(rate), Some(_)) if !rate.is_zero() => {
            errors.add(
                at("natura"),
                FieldCode::NotAllowed,
                "a natura goes with no IVA rate (or 0.00) only",
            );
            None
        }
        (_, Some(natura)) => Some(IvaCassa::Natura(natura)),
        (None, None) => {
            errors.add(
                at("aliquota_iva"),
                FieldCode::Required,
                "an IVA rate, or a natura when there is none",
            );
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prezzi {
    /// Prices typed without IVA.
    Netti,
    /// Prices typed with IVA included.
    Lordi,
}

impl Prezzi {
    pub const ALL: [Prezzi; 2] = [Prezzi::Netti, Prezzi::Lordi];

    pub fn as_str(self) -> &'static str {
        match self {
            Prezzi::Netti => "netti",
            Prezzi::Lordi => "lordi",
        }
    }

    pub fn parse(text: &str) -> Option<Prezzi> {
        Prezzi::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// The `preferenze_documento` body as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreferenzeDocumentoInput {
    pub tipo_documento: String,
    pub prezzi: String,
}

/// Step 4, `preferenze_documento`: the default of a new document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferenzeDocumento {
    pub tipo_documento: TipoDocumento,
    pub prezzi: Prezzi,
}

impl PreferenzeDocumento {
    pub fn parse(input: &PreferenzeDocumentoInput) -> Result<PreferenzeDocumento, Vec<FieldError>> {
        let mut errors = Errors::default();
        let tipo_documento = TipoDocumento::parse(&input.tipo_documento);
        if tipo_documento.is_none() {
            errors.add(
                "/tipo_documento",
                FieldCode::InvalidTipoDocumento,
                "a FatturaPA TipoDocumento: TD01-TD06 or TD16-TD29",
            );
        }
        let prezzi = errors.choice("/prezzi", &input.prezzi, &Prezzi::ALL, Prezzi::as_str);
        let preferenze =
            tipo_documento
                .zip(prezzi)
                .map(|(tipo_documento, prezzi)| PreferenzeDocumento {
                    tipo_documento,
                    prezzi,
                });
        errors.finish(preferenze)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canale {
    Pec,
    Email,
}

impl Canale {
    pub const ALL: [Canale; 2] = [Canale::Pec, Canale::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Canale::Pec => "pec",
            Canale::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Canale> {
        Canale::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Where one kind of notice goes, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvvisoInput {
    pub canale: String,
    pub indirizzo: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avviso {
    pub canale: Canale,
    pub indirizzo: EmailAddress,
}

/// The `avvisi` body as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvvisiInput {
    pub notifiche_sdi: AvvisoInput,
    pub fatture_ricevute: AvvisoInput,
}

/// Step 5, `avvisi`: where SdI's notifications and the received invoices
/// are announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avvisi {
    pub notifiche_sdi: Avviso,
    pub fatture_ricevute: Avviso,
}

impl Avvisi {
    pub fn parse(input: &AvvisiInput) -> Result<Avvisi, Vec<FieldError>> {
        let mut errors = Errors::default();
        let notifiche_sdi = avviso(&mut errors, "/notifiche_sdi", &input.notifiche_sdi);
        let fatture_ricevute = avviso(&mut errors, "/fatture_ricevute", &input.fatture_ricevute);
        let avvisi =
            notifiche_sdi
                .zip(fatture_ricevute)
                .map(|(notifiche_sdi, fatture_ricevute)| Avvisi {
                    notifiche_sdi,
                    fatture_ricevute,
                });
        errors.finish(avvisi)
    }
}

fn avviso(errors: &mut Errors, at: &str, input: &AvvisoInput) -> Option<Avviso> {
    let canale = errors.choice(
        &format!("{at}/canale"),
        &input.canale,
        &Canale::ALL,
        Canale::as_str,
    );
    let indirizzo = match EmailAddress::parse(input.indirizzo.trim()) {
        Ok(address) => Some(address),
        Err(error) => {
            let code = if input.indirizzo.trim().is_empty() {
                FieldCode::Required
            } else {
                FieldCode::InvalidEmail
            };
            errors.add(format!("{at}/indirizzo"), code, error.to_string());
            None
        }
    };
    canale
        .zip(indirizzo)
        .map(|(canale, indirizzo)| Avviso { canale, indirizzo })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(errors: Vec<FieldError>) -> Vec<(String, FieldCode)> {
        errors.into_iter().map(|e| (e.pointer, e.code)).collect()
    }

    fn at(pointer: &str, code: FieldCode) -> (String, FieldCode) {
        (pointer.to_owned(), code)
    }

    #[test]
    fn regime_fiscale_takes_rf19_and_refuses_rf03() {
        let input = RegimeInput {
            regime_fiscale: "RF19".into(),
            esigibilita_iva: "scissione_pagamenti".into(),
        };
        let regime = Regime::parse(&input).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(regime.regime_fiscale.as_str(), "RF19");
        assert_eq!(regime.esigibilita_iva, EsigibilitaIva::ScissionePagamenti);
        assert_eq!(regime.esigibilita_iva.fatturapa_code(), "S");
        let refused = RegimeInput {
            regime_fiscale: "RF03".into(),
            esigibilita_iva: "subito".into(),
        };
        assert_eq!(
            codes(Regime::parse(&refused).err().unwrap_or_default()),
            [
                at("/regime_fiscale", FieldCode::InvalidRegimeFiscale),
                at("/esigibilita_iva", FieldCode::InvalidValue)
            ]
        );
    }

    fn cassa(tipo: &str) -> CassaInput {
        CassaInput {
            tipo_cassa: tipo.into(),
            aliquota: "4.00".into(),
            imponibile_percentuale: "100.00".into(),
            aliquota_iva: Some("22.00".into()),
            natura: None,
            ritenuta: true,
        }
    }

    fn casse(casse: Vec<CassaInput>) -> Result<Casse, Vec<(String, FieldCode)>> {
        Casse::parse(&CasseInput { casse }).map_err(codes)
    }

    #[test]
    fn no_cassa_at_all_is_a_valid_answer() {
        assert_eq!(casse(vec![]), Ok(Casse::default()));
    }

    #[test]
    fn up_to_three_casse_parse_with_their_rates() {
        let parsed = casse(vec![
            cassa("TC22"),
            CassaInput {
                aliquota_iva: None,
                natura: Some("N2.2".into()),
                ritenuta: false,
                ..cassa("TC04")
            },
            CassaInput {
                aliquota_iva: Some("0.00".into()),
                natura: Some("N4".into()),
                ..cassa("TC01")
            },
        ])
        .unwrap_or_else(|e| panic!("{e:?}"));
        let first = parsed.casse[0];
        assert_eq!(first.tipo_cassa.as_str(), "TC22");
        assert_eq!(first.aliquota.to_string(), "4.00");
        assert_eq!(first.imponibile_percentuale.to_string(), "100.00");
        assert_eq!(
            first.iva,
            IvaCassa::Aliquota(Percentuale::parse("22.00").unwrap_or_else(|| panic!()))
        );
        assert!(first.ritenuta);
        assert_eq!(
            parsed.casse[1].iva,
            IvaCassa::Natura(Natura::parse("N2.2").unwrap_or_else(|| panic!()))
        );
        assert!(!parsed.casse[1].ritenuta);
        assert_eq!(
            parsed.casse[2].iva,
            IvaCassa::Natura(Natura::parse("N4").unwrap_or_else(|| panic!()))
        );
    }

    #[test]
    fn four_casse_are_refused() {
        let four = vec![cassa("TC01"), cassa("TC02"), cassa("TC03"), cassa("TC04")];
        assert_eq!(
            casse(four),
            Err(vec![at("/casse", FieldCode::TooManyCasse)])
        );
    }

    #[test]
    fn the_same_tipo_cassa_twice_is_refused_where_it_repeats() {
        assert_eq!(
            casse(vec![cassa("TC04"), cassa("TC22"), cassa("TC04")]),
            Err(vec![at(
                "/casse/2/tipo_cassa",
                FieldCode::DuplicateTipoCassa
            )])
        );
    }

    #[test]
    fn tipo_cassa_stops_at_tc22() {
        assert_eq!(
            casse(vec![cassa("TC23")]),
            Err(vec![at("/casse/0/tipo_cassa", FieldCode::InvalidTipoCassa)])
        );
    }

    #[test]
    fn rates_need_two_decimals_and_at_most_100() {
        for wrong in ["4.0", "100.001", "101.00", "4", "-4.00"] {
            assert_eq!(
                casse(vec![CassaInput {
                    aliquota: wrong.into(),
                    ..cassa("TC22")
                }]),
                Err(vec![at("/casse/0/aliquota", FieldCode::InvalidRate)]),
                "{wrong}"
            );
        }
        let full = casse(vec![CassaInput {
            aliquota: "100.00".into(),
            imponibile_percentuale: "0.00".into(),
            aliquota_iva: Some("100.00".into()),
            ..cassa("TC22")
        }]);
        assert_eq!(
            full.map(|c| c.casse[0].aliquota.to_string()),
            Ok("100.00".to_owned())
        );
        assert_eq!(
            casse(vec![CassaInput {
                imponibile_percentuale: "100.1".into(),
                aliquota_iva: Some("22".into()),
                ..cassa("TC22")
            }]),
            Err(vec![
                at("/casse/0/imponibile_percentuale", FieldCode::InvalidRate),
                at("/casse/0/aliquota_iva", FieldCode::InvalidRate)
            ])
        );
    }

    #[test]
    fn the_iva_is_a_rate_or_a_natura_never_both_never_neither() {
        let both = CassaInput {
            natura: Some("N1".into()),
            ..cassa("TC22")
        };
        let neither = CassaInput {
            aliquota_iva: None,
            ..cassa("TC21")
        };
        let zero_alone = CassaInput {
            aliquota_iva: Some("0.00".into()),
            ..cassa("TC20")
        };
        let bare_n2 = CassaInput {
            aliquota_iva: None,
            natura: Some("N2".into()),
            ..cassa("TC19")
        };
        assert_eq!(
            casse(vec![both, neither, zero_alone]),
            Err(vec![
                at("/casse/0/natura", FieldCode::NotAllowed),
                at("/casse/1/aliquota_iva", FieldCode::Required),
                at("/casse/2/natura", FieldCode::Required)
            ])
        );
        assert_eq!(
            casse(vec![bare_n2]),
            Err(vec![at("/casse/0/natura", FieldCode::InvalidNatura)])
        );
    }

    #[test]
    fn every_refused_cassa_field_is_reported_together() {
        let wrong = CassaInput {
            tipo_cassa: "TC00".into(),
            aliquota: "4.0".into(),
            imponibile_percentuale: "101.00".into(),
            aliquota_iva: None,
            natura: Some("N6".into()),
            ritenuta: false,
        };
        let many = vec![cassa("TC01"), wrong, cassa("TC01"), cassa("TC02")];
        assert_eq!(
            casse(many),
            Err(vec![
                at("/casse", FieldCode::TooManyCasse),
                at("/casse/1/tipo_cassa", FieldCode::InvalidTipoCassa),
                at("/casse/1/aliquota", FieldCode::InvalidRate),
                at("/casse/1/imponibile_percentuale", FieldCode::InvalidRate),
                at("/casse/1/natura", FieldCode::InvalidNatura),
                at("/casse/2/tipo_cassa", FieldCode::DuplicateTipoCassa)
            ])
        );
    }

    #[test]
    fn document_preferences_take_the_fatturapa_types() {
        for (tipo, prezzi, expected) in [
            ("TD01", "netti", Prezzi::Netti),
            ("TD06", "lordi", Prezzi::Lordi),
            ("TD28", "netti", Prezzi::Netti),
            ("TD29", "netti", Prezzi::Netti),
        ] {
            let input = PreferenzeDocumentoInput {
                tipo_documento: tipo.into(),
                prezzi: prezzi.into(),
            };
            let parsed = PreferenzeDocumento::parse(&input).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(
                (parsed.tipo_documento.as_str(), parsed.prezzi),
                (tipo, expected)
            );
        }
        let wrong = PreferenzeDocumentoInput {
            tipo_documento: "TD07".into(),
            prezzi: "ivati".into(),
        };
        assert_eq!(
            codes(PreferenzeDocumento::parse(&wrong).err().unwrap_or_default()),
            [
                at("/tipo_documento", FieldCode::InvalidTipoDocumento),
                at("/prezzi", FieldCode::InvalidValue)
            ]
        );
    }

    #[test]
    fn avvisi_go_to_a_pec_or_an_email_address() {
        let input = AvvisiInput {
            notifiche_sdi: AvvisoInput {
                canale: "pec".into(),
                indirizzo: " alfa@pec.it ".into(),
            },
            fatture_ricevute: AvvisoInput {
                canale: "email".into(),
                indirizzo: "fatture@alfa.it".into(),
            },
        };
        let avvisi = Avvisi::parse(&input).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(avvisi.notifiche_sdi.canale, Canale::Pec);
        assert_eq!(avvisi.notifiche_sdi.indirizzo.as_str(), "alfa@pec.it");
        assert_eq!(avvisi.fatture_ricevute.canale, Canale::Email);
        let wrong = AvvisiInput {
            notifiche_sdi: AvvisoInput {
                canale: "sms".into(),
                indirizzo: "not-an-address".into(),
            },
            fatture_ricevute: AvvisoInput {
                canale: "email".into(),
                indirizzo: " ".into(),
            },
        };
        assert_eq!(
            codes(Avvisi::parse(&wrong).err().unwrap_or_default()),
            [
                at("/notifiche_sdi/canale", FieldCode::InvalidValue),
                at("/notifiche_sdi/indirizzo", FieldCode::InvalidEmail),
                at("/fatture_ricevute/indirizzo", FieldCode::Required)
            ]
        );
    }

    #[test]
    fn the_closed_sets_read_back_what_they_spell() {
        for e in EsigibilitaIva::ALL {
            assert_eq!(EsigibilitaIva::parse(e.as_str()), Some(e));
        }
        for p in Prezzi::ALL {
            assert_eq!(Prezzi::parse(p.as_str()), Some(p));
        }
        for c in Canale::ALL {
            assert_eq!(Canale::parse(c.as_str()), Some(c));
        }
        assert_eq!(EsigibilitaIva::Differita.fatturapa_code(), "D");
        assert_eq!(Canale::parse("PEC"), None);
    }
}
