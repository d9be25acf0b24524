//! The FE configuration wizard: the wizard as a whole, saving one step,
//! completing it.

use super::TAG;
use super::dto::{
    ReadOnlyTaxIds, SetupDto, SetupStatusDto, StepBody, StepDto, StepName, StepStateDto,
};
use super::errors::{CompleteError, SaveStepError, field_errors};
use super::gate::panel_service;
use crate::auth::PanelSession;
use crate::http::json::{RawJson, parse_bytes};
use crate::http::problem::{ApiError, FieldError, Problem};
use actix_web::{HttpResponse, get, post, put, web};
use domain::ServiceStatus;
use domain::tax_id::{CodiceFiscale, PartitaIva};
use domain::wizard::{
    self, Avvisi, Casse, CedentePrestatore, PreferenzeDocumento, Regime, SetupStatus, Step,
};
use persistence::Database;
use persistence::service::ServiceRecord;
use persistence::setup::SetupStepRecord;

/// The order holder's tax ids, read-only in the wizard.
struct HolderIds {
    partita_iva: Option<PartitaIva>,
    codice_fiscale: CodiceFiscale,
}

/// What every operation of the wizard reads: the service, its holder's
/// tax ids (from the order that created it) and the saved steps.
struct Wizard {
    service: ServiceRecord,
    holder: HolderIds,
    steps: Vec<SetupStepRecord>,
}

async fn load(db: &Database, session: &PanelSession) -> Result<Wizard, ApiError> {
    let service = panel_service(db, &session.user).await?;
    let order = db
        .orders()
        .find_order_for_service(service.id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("service without its order")))?;
    let steps = db.setup().steps_of(service.id).await?;
    Ok(Wizard {
        service,
        holder: HolderIds {
            partita_iva: order.holder.partita_iva,
            codice_fiscale: order.holder.codice_fiscale,
        },
        steps,
    })
}

/// A step's body read from the request (shape, unknown fields, lengths).
fn read_body(step: Step, bytes: &[u8]) -> Result<StepBody, ApiError> {
    Ok(match step {
        Step::CedentePrestatore => StepBody::CedentePrestatore(Box::new(parse_bytes(bytes)?)),
        Step::RegimeFiscale => StepBody::RegimeFiscale(parse_bytes(bytes)?),
        Step::CassaPrevidenziale => StepBody::CassaPrevidenziale(parse_bytes(bytes)?),
        Step::PreferenzeDocumento => StepBody::PreferenzeDocumento(parse_bytes(bytes)?),
        Step::Avvisi => StepBody::Avvisi(parse_bytes(bytes)?),
    })
}

/// A saved step's body, read back from its stored JSON.
fn read_stored(record: &SetupStepRecord) -> Result<StepBody, ApiError> {
    fn from<T: serde::de::DeserializeOwned>(record: &SetupStepRecord) -> Result<T, ApiError> {
        serde_json::from_str(&record.data).map_err(|e| {
            ApiError::internal(anyhow::anyhow!(
                "the saved step {} does not read back: {e}",
                record.step
            ))
        })
    }
    Ok(match record.step {
        Step::CedentePrestatore => StepBody::CedentePrestatore(Box::new(from(record)?)),
        Step::RegimeFiscale => StepBody::RegimeFiscale(from(record)?),
        Step::CassaPrevidenziale => StepBody::CassaPrevidenziale(from(record)?),
        Step::PreferenzeDocumento => StepBody::PreferenzeDocumento(from(record)?),
        Step::Avvisi => StepBody::Avvisi(from(record)?),
    })
}

/// The schema's lengths and the domain's rules for the body: every refused
/// field at once (a field too long is reported once, as the schema's).
fn check(body: &StepBody, holder: &HolderIds) -> Result<(), Vec<FieldError>> {
    let ruled = match body {
        StepBody::CedentePrestatore(b) => CedentePrestatore::parse(
            &b.input(),
            holder.partita_iva.as_ref(),
            &holder.codice_fiscale,
        )
        .map(drop),
        StepBody::RegimeFiscale(b) => Regime::parse(&b.input()).map(drop),
        StepBody::CassaPrevidenziale(b) => Casse::parse(&b.input()).map(drop),
        StepBody::PreferenzeDocumento(b) => PreferenzeDocumento::parse(&b.input()).map(drop),
        StepBody::Avvisi(b) => Avvisi::parse(&b.input()).map(drop),
    };
    let mut errors = body.lengths();
    let domain: Vec<domain::FieldError> = ruled.err().unwrap_or_default();
    let fresh: Vec<FieldError> = field_errors(domain)
        .into_iter()
        .filter(|e| !errors.iter().any(|l| l.pointer == e.pointer))
        .collect();
    errors.extend(fresh);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The canonical JSON a step is stored as: the body re-serialised, without
/// the read-only tax ids (they are the holder's, shown from the order).
fn canonical(body: &StepBody) -> Result<String, ApiError> {
    let mut body = body.clone();
    if let StepBody::CedentePrestatore(cedente) = &mut body {
        cedente.partita_iva = None;
        cedente.codice_fiscale = None;
    }
    serde_json::to_string(&body).map_err(ApiError::internal)
}

fn saved_steps(steps: &[SetupStepRecord]) -> Vec<Step> {
    steps.iter().map(|s| s.step).collect()
}

/// The wizard as it is shown; `completed`: the service left
/// `awaiting_configuration` with every step saved.
fn show(wizard: &Wizard) -> Result<SetupDto, ApiError> {
    let saved = saved_steps(&wizard.steps);
    let completed = wizard.service.status != ServiceStatus::AwaitingConfiguration
        && wizard::check_complete(&saved).is_ok();
    let partita_iva = wizard
        .holder
        .partita_iva
        .as_ref()
        .map(|p| p.as_str().to_owned());
    let codice_fiscale = wizard.holder.codice_fiscale.as_str().to_owned();
    let steps = Step::ALL
        .into_iter()
        .map(|step| {
            let record = wizard.steps.iter().find(|s| s.step == step);
            let data = match record {
                Some(record) => Some(match read_stored(record)? {
                    StepBody::CedentePrestatore(mut cedente) => {
                        cedente.partita_iva.clone_from(&partita_iva);
                        cedente.codice_fiscale = Some(codice_fiscale.clone());
                        StepBody::CedentePrestatore(cedente)
                    }
                    other => other,
                }),
                None => None,
            };
            Ok(StepDto {
                step: step.into(),
                state: if record.is_some() {
                    StepStateDto::Saved
                } else {
                    StepStateDto::Todo
                },
                data,
                saved_at: record.map(|r| r.saved_at),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(SetupDto {
        service_id: wizard.service.id,
        service_status: wizard.service.status.as_str().to_owned(),
        status: match wizard::status(&saved, completed) {
            SetupStatus::NotStarted => SetupStatusDto::NotStarted,
            SetupStatus::InProgress => SetupStatusDto::InProgress,
            SetupStatus::Completed => SetupStatusDto::Completed,
        },
        next_step: wizard::next_step(&saved).map(StepName::from),
        read_only: ReadOnlyTaxIds {
            partita_iva,
            codice_fiscale,
        },
        steps,
    })
}

/// The FE configuration wizard.
///
/// The wizard of the panel user's service: its `status` (`not_started`,
/// `in_progress`, `completed`), the five steps in order, each `todo` or
/// `saved` with its saved data, and `next_step`, the first not saved. The
/// holder's Partita IVA and Codice Fiscale, from the order, are in
/// `read_only` and in the saved `cedente_prestatore`: they cannot be
/// changed here. Open while the service awaits its configuration.
#[utoipa::path(
    operation_id = "getSetup",
    tag = TAG,
    security(("panel" = [])),
    responses(
        (status = 200, description = "The wizard", body = SetupDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password change required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/panel/setup")]
pub async fn get_setup(
    db: web::Data<Database>,
    session: PanelSession,
) -> Result<HttpResponse, ApiError> {
    let wizard = load(&db, &session).await?;
    Ok(HttpResponse::Ok().json(show(&wizard)?))
}

/// Save one step of the wizard.
///
/// The body is the step's (see `StepBody`: `cedente_prestatore`,
/// `regime_fiscale`, `cassa_previdenziale`, `preferenze_documento`,
/// `avvisi`); unknown fields are refused. Saving replaces what the step
/// held: the same body twice leaves one state. A step is saved once every
/// earlier one is (409 `step_out_of_order` naming the first missing in
/// `errors`, a pointer into the wizard's `steps`); a saved step may be
/// edited again at any time. Every refused field is reported at once
/// (422, pointers into the body, e.g. `/sede/cap`, `/casse/1/tipo_cassa`);
/// the Partita IVA and Codice Fiscale are the order holder's, and another
/// value answers `read_only_field`. Returns the wizard.
#[utoipa::path(
    operation_id = "saveSetupStep",
    tag = TAG,
    security(("panel" = [])),
    params(
        ("step" = StepName, Path, description = "The step: `cedente_prestatore`, `regime_fiscale`, `cassa_previdenziale`, `preferenze_documento` or `avvisi`", example = "cedente_prestatore"),
    ),
    request_body(content = StepBody, content_type = "application/json", description = "The step's body: the one of the five schemas that the path's step names"),
    responses(
        (status = 200, description = "Saved; the wizard", body = SetupDto),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password change required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such step (`not_found`; the detail names the step parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An earlier step is not saved yet (`step_out_of_order`; `errors` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), every one with its pointer and code: the shape (unknown, missing, wrong type), lengths, and the step's rules (e.g. `read_only_field` for a Partita IVA or Codice Fiscale other than the holder's)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/panel/setup/steps/{step}")]
pub async fn save_step(
    db: web::Data<Database>,
    session: PanelSession,
    step: web::Path<String>,
    body: RawJson,
) -> Result<HttpResponse, ApiError> {
    let step = Step::parse(&step).ok_or(SaveStepError::UnknownStep)?;
    let body = read_body(step, &body.0)?;
    let mut wizard = load(&db, &session).await?;
    wizard::check_order(&saved_steps(&wizard.steps), step).map_err(SaveStepError::OutOfOrder)?;
    check(&body, &wizard.holder).map_err(SaveStepError::Invalid)?;
    let record = db
        .setup()
        .save_step(wizard.service.id, step, &canonical(&body)?, session.user.id)
        .await?;
    wizard.steps.retain(|s| s.step != step);
    wizard.steps.push(record);
    wizard.steps.sort_by_key(|s| s.step);
    tracing::info!(service_id = %wizard.service.id, step = step.as_str(), "setup step saved");
    Ok(HttpResponse::Ok().json(show(&wizard)?))
}

/// Complete the wizard: the service becomes `active`.
///
/// Every step must be saved and still valid (each is checked again);
/// otherwise 409 `setup_incomplete`, with `errors` naming each missing
/// step (pointers into the wizard's `steps`). A second call answers the
/// same and changes nothing. Returns the wizard, `completed`, with
/// `service_status` `active`.
#[utoipa::path(
    operation_id = "completeSetup",
    tag = TAG,
    security(("panel" = [])),
    responses(
        (status = 200, description = "Completed; the wizard and the service, active", body = SetupDto),
        (status = 401, description = "No or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password change required, or a token of another audience", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Steps missing (`setup_incomplete`; `errors` names them), or a service that can no longer be configured (`conflict`: expired, suspended or cancelled)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/panel/setup/complete")]
pub async fn complete(
    db: web::Data<Database>,
    session: PanelSession,
) -> Result<HttpResponse, ApiError> {
    let mut wizard = load(&db, &session).await?;
    // A saved step that no longer passes the rules counts as missing.
    let mut valid = Vec::new();
    for record in &wizard.steps {
        if check(&read_stored(record)?, &wizard.holder).is_ok() {
            valid.push(record.step);
        } else {
            tracing::warn!(service_id = %wizard.service.id, step = record.step.as_str(), "a saved setup step is no longer valid");
        }
    }
    wizard::check_complete(&valid).map_err(CompleteError::Incomplete)?;
    match wizard.service.status {
        ServiceStatus::Active => {}
        ServiceStatus::AwaitingConfiguration => {
            if db.setup().activate_service(wizard.service.id).await? {
                wizard.service.status = ServiceStatus::Active;
                tracing::info!(service_id = %wizard.service.id, "FE configured: service active");
            } else {
                // Another request moved it first: read what it is now.
                wizard.service = panel_service(&db, &session.user).await?;
                if wizard.service.status != ServiceStatus::Active {
                    return Err(CompleteError::NotConfigurable(wizard.service.status).into());
                }
            }
        }
        other => return Err(CompleteError::NotConfigurable(other).into()),
    }
    Ok(HttpResponse::Ok().json(show(&wizard)?))
}
