//! The FE configuration wizard of product.md section 3 ("configurazione nel
//! suo complesso"): its steps in order, which step may be saved when, when
//! the wizard is complete, and what each step's body must hold. Pure
//! functions over values; the api stores the saved steps and answers.

mod cedente;
mod codes;
mod steps;

pub use cedente::{
    CedentePrestatore, CedentePrestatoreInput, CodiceIpa, Contatti, ContattiInput, Rea, ReaInput,
    SocioUnico, StatoLiquidazione, TipoAttivita,
};
pub use codes::{Natura, Percentuale, RegimeFiscale, TipoCassa, TipoDocumento};
pub use steps::{
    Avvisi, AvvisiInput, Avviso, AvvisoInput, Canale, Cassa, CassaInput, Casse, CasseInput,
    EsigibilitaIva, IvaCassa, MAX_CASSE, PreferenzeDocumento, PreferenzeDocumentoInput, Prezzi,
    Regime, RegimeInput,
};

use std::fmt;

// The wizard's field errors are the domain's one kind (`crate::fields`).
use crate::fields::Errors;
use crate::fields::{FieldCode, FieldError};

/// The wizard's steps, in the order they must first be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    CedentePrestatore,
    RegimeFiscale,
    CassaPrevidenziale,
    PreferenzeDocumento,
    Avvisi,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::CedentePrestatore,
        Step::RegimeFiscale,
        Step::CassaPrevidenziale,
        Step::PreferenzeDocumento,
        Step::Avvisi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::CedentePrestatore => "cedente_prestatore",
            Step::RegimeFiscale => "regime_fiscale",
            Step::CassaPrevidenziale => "cassa_previdenziale",
            Step::PreferenzeDocumento => "preferenze_documento",
            Step::Avvisi => "avvisi",
        }
    }

    pub fn parse(text: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The steps before this one, in order.
    pub fn earlier(self) -> &'static [Step] {
        let position = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        &Step::ALL[..position]
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step saved before the steps ahead of it: 409 `step_out_of_order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("save {missing} first: the wizard's steps are saved in order")]
pub struct StepOutOfOrder {
    /// The first earlier step not saved yet.
    pub missing: Step,
}

/// Whether `step` may be saved now: every earlier step must be saved.
/// Saving it again, or an earlier step once later ones are saved, is an
/// edit and always allowed.
pub fn check_order(saved: &[Step], step: Step) -> Result<(), StepOutOfOrder> {
    match step.earlier().iter().find(|s| !saved.contains(s)) {
        Some(&missing) => Err(StepOutOfOrder { missing }),
        None => Ok(()),
    }
}

/// The steps not saved yet, in order: what completing still needs.
pub fn missing(saved: &[Step]) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|s| !saved.contains(s))
        .collect()
}

/// The step the user is asked next: the first not saved, none when all are.
pub fn next_step(saved: &[Step]) -> Option<Step> {
    Step::ALL.into_iter().find(|s| !saved.contains(s))
}

/// Completing the wizard with steps still to save: 409 `setup_incomplete`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the FE configuration still needs {}", .missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))]
pub struct SetupIncomplete {
    pub missing: Vec<Step>,
}

/// Whether the wizard may be completed: every step saved (a saved step is
/// valid, it was parsed before it was saved).
pub fn check_complete(saved: &[Step]) -> Result<(), SetupIncomplete> {
    let missing = missing(saved);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SetupIncomplete { missing })
    }
}

/// The wizard as a whole, as `GET /v1/panel/setup` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStatus {
    NotStarted,
    InProgress,
    /// Completed: the service was activated. Five saved steps alone are
    /// still `in_progress` until the user completes the wizard.
    Completed,
}

impl SetupStatus {
    pub const ALL: [SetupStatus; 3] = [
        SetupStatus::NotStarted,
        SetupStatus::InProgress,
        SetupStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SetupStatus::NotStarted => "not_started",
            SetupStatus::InProgress => "in_progress",
            SetupStatus::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<SetupStatus> {
        SetupStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The wizard's status from its saved steps and whether it was completed
/// (`POST /v1/panel/setup/complete` succeeded).
pub fn status(saved: &[Step], completed: bool) -> SetupStatus {
    if completed {
        SetupStatus::Completed
    } else if saved.is_empty() {
        SetupStatus::NotStarted
    } else {
        SetupStatus::InProgress
    }
}

/// A saved step's data, whichever step it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepData {
    /// Boxed: it is several times the size of the others.
    CedentePrestatore(Box<CedentePrestatore>),
    RegimeFiscale(Regime),
    CassaPrevidenziale(Casse),
    PreferenzeDocumento(PreferenzeDocumento),
    Avvisi(Avvisi),
}

impl StepData {
    pub fn step(&self) -> Step {
        match self {
            StepData::CedentePrestatore(_) => Step::CedentePrestatore,
            StepData::RegimeFiscale(_) => Step::RegimeFiscale,
            StepData::CassaPrevidenziale(_) => Step::CassaPrevidenziale,
            StepData::PreferenzeDocumento(_) => Step::PreferenzeDocumento,
            StepData::Avvisi(_) => Step::Avvisi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_in_the_products_order_and_spell_as_the_api_does() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "cedente_prestatore",
                "regime_fiscale",
                "cassa_previdenziale",
                "preferenze_documento",
                "avvisi"
            ]
        );
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        assert_eq!(Step::parse("Avvisi"), None);
        assert_eq!(Step::parse(""), None);
        assert!(Step::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Step::CedentePrestatore.earlier(), &[] as &[Step]);
        assert_eq!(
            Step::CassaPrevidenziale.earlier(),
            &[Step::CedentePrestatore, Step::RegimeFiscale]
        );
    }

    #[test]
    fn a_step_waits_for_the_first_earlier_step_not_saved() {
        assert_eq!(check_order(&[], Step::CedentePrestatore), Ok(()));
        assert_eq!(
            check_order(&[], Step::Avvisi),
            Err(StepOutOfOrder {
                missing: Step::CedentePrestatore
            })
        );
        assert_eq!(
            check_order(&[Step::CedentePrestatore], Step::CassaPrevidenziale),
            Err(StepOutOfOrder {
                missing: Step::RegimeFiscale
            })
        );
        assert_eq!(
            check_order(
                &[Step::CedentePrestatore, Step::RegimeFiscale],
                Step::CassaPrevidenziale
            ),
            Ok(())
        );
        // A gap (stored by hand, or an earlier step lost) is named too.
        assert_eq!(
            check_order(
                &[Step::CedentePrestatore, Step::CassaPrevidenziale],
                Step::Avvisi
            ),
            Err(StepOutOfOrder {
                missing: Step::RegimeFiscale
            })
        );
    }

    #[test]
    fn saved_steps_may_be_edited_again_in_any_order() {
        let saved = [
            Step::CedentePrestatore,
            Step::RegimeFiscale,
            Step::CassaPrevidenziale,
        ];
        for step in saved {
            assert_eq!(check_order(&saved, step), Ok(()), "{step}");
        }
        assert_eq!(check_order(&Step::ALL, Step::CedentePrestatore), Ok(()));
        assert_eq!(check_order(&Step::ALL, Step::Avvisi), Ok(()));
    }

    #[test]
    fn next_step_and_missing_follow_what_is_saved() {
        assert_eq!(next_step(&[]), Some(Step::CedentePrestatore));
        assert_eq!(missing(&[]), Step::ALL.to_vec());
        let saved = [Step::RegimeFiscale, Step::CedentePrestatore];
        assert_eq!(next_step(&saved), Some(Step::CassaPrevidenziale));
        assert_eq!(
            missing(&saved),
            [
                Step::CassaPrevidenziale,
                Step::PreferenzeDocumento,
                Step::Avvisi
            ]
        );
        assert_eq!(next_step(&Step::ALL), None);
        assert_eq!(missing(&Step::ALL), []);
    }

    #[test]
    fn completing_needs_every_step_and_names_the_missing_ones() {
        assert_eq!(check_complete(&Step::ALL), Ok(()));
        let four = &Step::ALL[..4];
        let refused = check_complete(four).err();
        assert_eq!(
            refused,
            Some(SetupIncomplete {
                missing: vec![Step::Avvisi]
            })
        );
        assert_eq!(
            refused.map(|e| e.to_string()).unwrap_or_default(),
            "the FE configuration still needs avvisi"
        );
        assert_eq!(
            check_complete(&[Step::CedentePrestatore])
                .err()
                .map(|e| e.missing.len()),
            Some(4)
        );
    }

    #[test]
    fn status_is_not_started_in_progress_or_completed() {
        assert_eq!(status(&[], false), SetupStatus::NotStarted);
        assert_eq!(
            status(&[Step::CedentePrestatore], false),
            SetupStatus::InProgress
        );
        assert_eq!(status(&Step::ALL, false), SetupStatus::InProgress);
        assert_eq!(status(&Step::ALL, true), SetupStatus::Completed);
        for s in SetupStatus::ALL {
            assert_eq!(SetupStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SetupStatus::Completed.as_str(), "completed");
        assert_eq!(SetupStatus::parse("done"), None);
    }

    proptest::proptest! {
        #[test]
        fn the_order_rule_holds_for_any_saved_steps(mask in 0u8..32, index in 0usize..5) {
            let saved: Vec<Step> = Step::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s)
                .collect();
            let step = Step::ALL[index];
            let first_missing_earlier = Step::ALL[..index].iter().copied().find(|s| !saved.contains(s));
            proptest::prop_assert_eq!(
                check_order(&saved, step).err().map(|e| e.missing),
                first_missing_earlier
            );
            proptest::prop_assert_eq!(next_step(&saved), missing(&saved).first().copied());
            proptest::prop_assert_eq!(check_complete(&saved).is_ok(), saved.len() == Step::ALL.len());
            // Whatever is saved, saving next_step is always in order.
            if let Some(next) = next_step(&saved) {
                proptest::prop_assert_eq!(check_order(&saved, next), Ok(()));
            }
        }
    }

    #[test]
    fn field_codes_are_snake_case_and_distinct() {
        let mut names: Vec<&str> = FieldCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FieldCode::ALL.len());
        assert_eq!(FieldCode::ReadOnlyField.to_string(), "read_only_field");
    }
}
