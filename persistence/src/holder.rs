//! The holder (`domain::Holder`) as stored: columns of a customer account,
//! and a JSON document in an order (the holder the order was placed for).
//! Both are read back through `Holder::parse`, so a stored holder that is
//! no longer a valid one is `StoreError::Corrupt`, never a default.

use crate::{StoreError, StoreResult};
use domain::holder::AddressInput;
use domain::{Holder, HolderInput};
use serde::{Deserialize, Serialize};

/// A stored holder's text fields, back to the domain's holder.
pub(crate) fn read(input: &HolderInput, whose: &str) -> StoreResult<Holder> {
    Holder::parse(input).map_err(|errors| {
        let fields: Vec<&str> = errors.iter().map(|e| e.pointer).collect();
        StoreError::Corrupt(format!(
            "the holder of {whose} no longer parses: {fields:?}"
        ))
    })
}

/// The JSON an order keeps (the shape the API shows a holder in, so rows
/// written before this module read back the same).
#[derive(Serialize, Deserialize)]
struct HolderJson {
    kind: String,
    denominazione: Option<String>,
    nome: Option<String>,
    cognome: Option<String>,
    codice_fiscale: String,
    partita_iva: Option<String>,
    address: AddressJson,
    phone: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AddressJson {
    indirizzo: String,
    numero_civico: String,
    cap: String,
    comune: String,
    provincia: String,
    nazione: String,
}

pub(crate) fn to_json(holder: &Holder) -> String {
    let input = holder.to_input();
    let json = HolderJson {
        kind: input.kind,
        denominazione: input.denominazione,
        nome: input.nome,
        cognome: input.cognome,
        codice_fiscale: input.codice_fiscale,
        partita_iva: input.partita_iva,
        address: AddressJson {
            indirizzo: input.address.indirizzo,
            numero_civico: input.address.numero_civico,
            cap: input.address.cap,
            comune: input.address.comune,
            provincia: input.address.provincia,
            nazione: input.address.nazione,
        },
        phone: input.phone,
    };
    // A struct of strings always serialises.
    serde_json::to_string(&json).unwrap_or_default()
}

pub(crate) fn from_json(text: &str, whose: &str) -> StoreResult<Holder> {
    let json: HolderJson = serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("the holder of {whose} is not a holder: {e}")))?;
    read(
        &HolderInput {
            kind: json.kind,
            denominazione: json.denominazione,
            nome: json.nome,
            cognome: json.cognome,
            codice_fiscale: json.codice_fiscale,
            partita_iva: json.partita_iva,
            address: AddressInput {
                indirizzo: json.address.indirizzo,
                numero_civico: json.address.numero_civico,
                cap: json.address.cap,
                comune: json.address.comune,
                provincia: json.address.provincia,
                nazione: json.address.nazione,
            },
            phone: json.phone,
        },
        whose,
    )
}
