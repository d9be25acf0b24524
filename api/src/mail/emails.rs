//! The e-mails Attiva sends, in Italian, as plain-text templates: plain
//! functions from the facts to a subject and a body, queued in the outbox
//! (`persistence::outbox`) by the caller.
//!
//! Bodies may hold a temporary password: neither the inputs nor the
//! rendered e-mail show it in Debug, and no code may log a body.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use std::fmt::{self, Write as _};

/// The outbox `kind` of [`activation_email`].
pub const KIND_ACTIVATION: &str = "activation";
/// The outbox `kind` of [`payment_confirmation_email`].
pub const KIND_PAYMENT_CONFIRMATION: &str = "payment_confirmation";
/// The outbox `kind` of [`credentials_reissued_email`].
pub const KIND_CREDENTIALS_REISSUED: &str = "credentials_reissued";

/// A subject and a plain-text body (UTF-8, `\n` line ends).
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub body_text: String,
}

// The body may hold a temporary password: Debug shows only its length.
impl fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedEmail")
            .field("subject", &self.subject)
            .field(
                "body_text",
                &format_args!("<{} bytes, redacted>", self.body_text.len()),
            )
            .finish()
    }
}

/// The facts of the activation e-mail of a new FE service.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationEmail {
    /// Ragione sociale, or nome and cognome.
    pub holder_name: String,
    pub order_number: String,
    /// The panel username.
    pub username: String,
    pub temporary_password: String,
    pub temporary_password_expires_at: DateTime<Utc>,
    pub panel_url: String,
    pub service_expires_on: NaiveDate,
    /// Display names of the add-on modules bought with the service.
    pub modules: Vec<String>,
}

impl fmt::Debug for ActivationEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationEmail")
            .field("holder_name", &self.holder_name)
            .field("order_number", &self.order_number)
            .field("username", &self.username)
            .field("temporary_password", &"<redacted>")
            .field(
                "temporary_password_expires_at",
                &self.temporary_password_expires_at,
            )
            .field("panel_url", &self.panel_url)
            .field("service_expires_on", &self.service_expires_on)
            .field("modules", &self.modules)
            .finish()
    }
}

/// The facts of the confirmation of a paid add-on order (no new service,
/// so no credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentConfirmationEmail {
    pub holder_name: String,
    pub order_number: String,
    /// Euro, a decimal point and two decimals: `"30.50"`.
    pub total: String,
    /// What was bought, as shown to the customer (product names).
    pub items: Vec<String>,
    /// The service's expiry after the order, when it moved.
    pub service_expires_on: Option<NaiveDate>,
    pub panel_url: String,
}

/// The facts of the e-mail that brings new panel credentials after an
/// operator reissued them (e.g. the temporary password expired).
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialsReissuedEmail {
    pub holder_name: String,
    pub username: String,
    pub temporary_password: String,
    pub temporary_password_expires_at: DateTime<Utc>,
    pub panel_url: String,
}

impl fmt::Debug for CredentialsReissuedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsReissuedEmail")
            .field("holder_name", &self.holder_name)
            .field("username", &self.username)
            .field("temporary_password", &"<redacted>")
            .field(
                "temporary_password_expires_at",
                &self.temporary_password_expires_at,
            )
            .field("panel_url", &self.panel_url)
            .finish()
    }
}

/// "Incassi e pagamenti", by name or catalog code.
fn is_incassi_pagamenti(item: &str) -> bool {
    let item = item.to_lowercase();
    item.contains("incassi e pagamenti") || item.contains("incassi-pagamenti")
}

fn date(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// The last Sunday of `month` (1..=12) of `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_of_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

/// `at` on the Italian clock: CET, or CEST from 01:00 UTC of the last
/// Sunday of March to 01:00 UTC of the last Sunday of October (the EU rule).
fn italian_time(at: DateTime<Utc>) -> DateTime<Utc> {
    let year = at.year();
    let switch = |month| {
        last_sunday(year, month)
            .and_then(|day| day.and_hms_opt(1, 0, 0))
            .map(|t| t.and_utc())
    };
    let summer = match (switch(3), switch(10)) {
        (Some(start), Some(end)) => at >= start && at < end,
        _ => false,
    };
    at + Duration::hours(if summer { 2 } else { 1 })
}

/// "14/03/2026 alle 09:05 (ora italiana)".
fn italian_moment(at: DateTime<Utc>) -> String {
    let local = italian_time(at);
    format!(
        "{} alle {:02}:{:02} (ora italiana)",
        date(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// `"1234.50"` → `"1.234,50 €"`; anything else is shown as given, in euro.
fn euro(amount: &str) -> String {
    let (units, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    let digits = !units.is_empty() && units.chars().all(|c| c.is_ascii_digit());
    if !digits || !cents.chars().all(|c| c.is_ascii_digit()) {
        return format!("{amount} €");
    }
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("{grouped},{cents} €")
}

const SIGNATURE: &str = "Cordiali saluti,\nIl servizio clienti Attiva\n\n\
    Questo messaggio è stato inviato automaticamente: per assistenza non rispondere \
    a questo indirizzo, ma scrivici dall'area clienti.\n";

/// The activation e-mail: the panel credentials of a new FE service and
/// what to do next.
pub fn activation_email(a: &ActivationEmail) -> RenderedEmail {
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        body,
        "Gentile {holder},\n\n\
         grazie per aver scelto Attiva. Il pagamento dell'ordine n. {order} è stato \
         registrato e il servizio Fatturazione Elettronica è attivo fino al {expiry}.\n\n\
         Queste sono le credenziali di accesso al pannello:\n\n\
         Indirizzo del pannello: {url}\n\
         Nome utente: {username}\n\
         Password temporanea: {password}\n\n\
         La password temporanea è valida fino al {password_expiry}.\n\
         Al primo accesso è obbligatorio modificare la password ricevuta.\n\n",
        holder = a.holder_name,
        order = a.order_number,
        expiry = date(a.service_expires_on),
        url = a.panel_url,
        username = a.username,
        password = a.temporary_password,
        password_expiry = italian_moment(a.temporary_password_expires_at),
    );
    if !a.modules.is_empty() {
        let _ = writeln!(body, "Moduli aggiuntivi acquistati con il servizio:");
        for module in &a.modules {
            let _ = writeln!(body, "- {module}");
        }
        body.push('\n');
    }
    let _ = write!(
        body,
        "Prossimi passi:\n\
         1. Accedi al pannello con le credenziali qui sopra e scegli la tua nuova password.\n\
         2. Configura la Fatturazione Elettronica: la procedura guidata di configurazione \
         va completata per intero prima di poter emettere e ricevere fatture.\n",
    );
    for (step, module) in (3..).zip(&a.modules) {
        let _ = writeln!(
            body,
            "{step}. Avvia dal pannello la procedura guidata di attivazione del modulo \
             \"{module}\"."
        );
    }
    body.push('\n');
    body.push_str(SIGNATURE);
    RenderedEmail {
        subject: "Attivazione Fatturazione Elettronica – credenziali di accesso".to_owned(),
        body_text: body,
    }
}

/// The confirmation of a paid add-on order on an existing service.
pub fn payment_confirmation_email(p: &PaymentConfirmationEmail) -> RenderedEmail {
    let mut body = String::new();
    let _ = write!(
        body,
        "Gentile {holder},\n\n\
         abbiamo ricevuto il pagamento dell'ordine n. {order}, per un importo totale \
         di {total}.\n\n\
         Hai acquistato:\n",
        holder = p.holder_name,
        order = p.order_number,
        total = euro(&p.total),
    );
    for item in &p.items {
        let _ = writeln!(body, "- {item}");
    }
    body.push('\n');
    if let Some(expiry) = p.service_expires_on {
        let _ = writeln!(
            body,
            "Il servizio Fatturazione Elettronica e i suoi moduli sono attivi fino al {}.\n",
            date(expiry)
        );
    }
    if p.items.iter().any(|item| is_incassi_pagamenti(item)) {
        let _ = write!(
            body,
            "Per usare Incassi e pagamenti:\n\
             1. se non l'hai mai fatto, esegui dal pannello la procedura \"Abbina \
             anagrafiche e fatture\", che collega ogni fattura al suo cliente o fornitore;\n\
             2. poi avvia la procedura guidata di attivazione del modulo \
             Incassi e pagamenti.\n\n",
        );
    }
    let _ = write!(
        body,
        "Trovi i moduli acquistati nel pannello: {url}\n\n",
        url = p.panel_url
    );
    body.push_str(SIGNATURE);
    RenderedEmail {
        subject: format!("Conferma di pagamento – ordine n. {}", p.order_number),
        body_text: body,
    }
}

/// New panel credentials, reissued by an operator: the previous password
/// no longer works.
pub fn credentials_reissued_email(r: &CredentialsReissuedEmail) -> RenderedEmail {
    let mut body = String::new();
    let _ = write!(
        body,
        "Gentile {holder},\n\n\
         come richiesto, abbiamo generato nuove credenziali di accesso al pannello della \
         Fatturazione Elettronica. La password precedente non è più valida.\n\n\
         Indirizzo del pannello: {url}\n\
         Nome utente: {username}\n\
         Password temporanea: {password}\n\n\
         La password temporanea è valida fino al {password_expiry}.\n\
         Al primo accesso è obbligatorio modificare la password ricevuta.\n\n\
         Se non hai chiesto nuove credenziali, contatta subito il servizio clienti.\n\n",
        holder = r.holder_name,
        url = r.panel_url,
        username = r.username,
        password = r.temporary_password,
        password_expiry = italian_moment(r.temporary_password_expires_at),
    );
    body.push_str(SIGNATURE);
    RenderedEmail {
        subject: "Fatturazione Elettronica – nuove credenziali di accesso".to_owned(),
        body_text: body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap_or_default()
    }

    fn activation() -> ActivationEmail {
        ActivationEmail {
            holder_name: "Caffè Più S.r.l.".into(),
            order_number: "2026-000042".into(),
            username: "fe12345678901".into(),
            temporary_password: "Xq7#pL9!vR2m".into(),
            temporary_password_expires_at: utc(2026, 7, 14, 8, 5),
            panel_url: "https://pannello.attiva.example/panel".into(),
            service_expires_on: day(2027, 6, 30),
            modules: vec!["Incassi e pagamenti".into()],
        }
    }

    #[test]
    fn the_activation_email_holds_the_credentials_and_the_rules() {
        let email = activation_email(&activation());
        assert_eq!(
            email.subject,
            "Attivazione Fatturazione Elettronica – credenziali di accesso"
        );
        let body = &email.body_text;
        for expected in [
            "Gentile Caffè Più S.r.l.,",
            "ordine n. 2026-000042",
            "Nome utente: fe12345678901",
            "Password temporanea: Xq7#pL9!vR2m",
            "Indirizzo del pannello: https://pannello.attiva.example/panel",
            // 08:05 UTC in July is 10:05 in Italy (CEST).
            "valida fino al 14/07/2026 alle 10:05 (ora italiana)",
            "Al primo accesso è obbligatorio modificare la password ricevuta.",
            "attivo fino al 30/06/2027",
            "va completata per intero",
            "3. Avvia dal pannello la procedura guidata di attivazione del modulo \"Incassi e pagamenti\".",
        ] {
            assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
        }
        // Bought together with FE: no matching procedure first.
        assert!(!body.contains("Abbina anagrafiche"), "{body}");
    }

    #[test]
    fn without_modules_there_is_no_module_step() {
        let email = activation_email(&ActivationEmail {
            modules: Vec::new(),
            ..activation()
        });
        assert!(!email.body_text.contains("3."), "{}", email.body_text);
        assert!(!email.body_text.contains("Moduli aggiuntivi"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let facts = activation();
        let email = activation_email(&facts);
        let shown = format!("{facts:?} {email:?} {facts:#?} {email:#?}");
        assert!(!shown.contains("Xq7#pL9!vR2m"), "{shown}");
        assert!(
            shown.contains("fe12345678901"),
            "the rest is shown: {shown}"
        );
    }

    #[test]
    fn reissued_credentials_replace_the_old_password() {
        let facts = CredentialsReissuedEmail {
            holder_name: "Mario Rossi".into(),
            username: "fe-07643520567".into(),
            temporary_password: "Nu0va-Pw!".into(),
            temporary_password_expires_at: utc(2026, 1, 10, 11, 0),
            panel_url: "https://pannello.attiva.example/panel".into(),
        };
        let email = credentials_reissued_email(&facts);
        assert_eq!(
            email.subject,
            "Fatturazione Elettronica – nuove credenziali di accesso"
        );
        for expected in [
            "Nome utente: fe-07643520567",
            "Password temporanea: Nu0va-Pw!",
            // 11:00 UTC in January is 12:00 in Italy (CET).
            "valida fino al 10/01/2026 alle 12:00 (ora italiana)",
            "Al primo accesso è obbligatorio modificare la password ricevuta.",
            "La password precedente non è più valida.",
        ] {
            assert!(
                email.body_text.contains(expected),
                "missing {expected:?} in:\n{}",
                email.body_text
            );
        }
        assert!(!format!("{facts:?} {email:?}").contains("Nu0va-Pw!"));
    }

    #[test]
    fn the_payment_confirmation_leads_to_the_matching_procedure_first() {
        let email = payment_confirmation_email(&PaymentConfirmationEmail {
            holder_name: "Mario Rossi".into(),
            order_number: "2026-000043".into(),
            total: "1230.50".into(),
            items: vec!["Incassi e pagamenti".into()],
            service_expires_on: Some(day(2027, 3, 31)),
            panel_url: "https://pannello.attiva.example/panel".into(),
        });
        assert_eq!(
            email.subject,
            "Conferma di pagamento – ordine n. 2026-000043"
        );
        let body = &email.body_text;
        for expected in [
            "Gentile Mario Rossi,",
            "importo totale di 1.230,50 €",
            "- Incassi e pagamenti",
            "attivi fino al 31/03/2027",
            "\"Abbina anagrafiche e fatture\"",
            "poi avvia la procedura guidata di attivazione",
            "https://pannello.attiva.example/panel",
        ] {
            assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
        }
        let matching = body.find("Abbina").unwrap_or(usize::MAX);
        let wizard = body.find("procedura guidata").unwrap_or(0);
        assert!(matching < wizard, "matching comes first:\n{body}");
    }

    #[test]
    fn other_add_ons_do_not_mention_incassi_e_pagamenti() {
        let email = payment_confirmation_email(&PaymentConfirmationEmail {
            holder_name: "Mario Rossi".into(),
            order_number: "2026-000044".into(),
            total: "12.20".into(),
            items: vec!["Spazio aggiuntivo 1 GB".into()],
            service_expires_on: None,
            panel_url: "https://pannello.attiva.example/panel".into(),
        });
        assert!(!email.body_text.contains("Abbina"), "{}", email.body_text);
        assert!(email.body_text.contains("12,20 €"));
        assert!(!email.body_text.contains("attivi fino al"));
    }

    #[test]
    fn italian_time_follows_summer_time() {
        // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(
            italian_moment(utc(2026, 3, 29, 0, 59)),
            "29/03/2026 alle 01:59 (ora italiana)"
        );
        assert_eq!(
            italian_moment(utc(2026, 3, 29, 1, 0)),
            "29/03/2026 alle 03:00 (ora italiana)"
        );
        assert_eq!(
            italian_moment(utc(2026, 10, 25, 0, 59)),
            "25/10/2026 alle 02:59 (ora italiana)"
        );
        assert_eq!(
            italian_moment(utc(2026, 10, 25, 1, 0)),
            "25/10/2026 alle 02:00 (ora italiana)"
        );
        assert_eq!(
            italian_moment(utc(2026, 12, 31, 23, 30)),
            "01/01/2027 alle 00:30 (ora italiana)"
        );
        assert_eq!(last_sunday(2026, 12), Some(day(2026, 12, 27)));
        assert_eq!(Weekday::Sun, day(2026, 12, 27).weekday());
    }

    #[test]
    fn euro_amounts_are_written_the_italian_way() {
        assert_eq!(euro("30.50"), "30,50 €");
        assert_eq!(euro("0.00"), "0,00 €");
        assert_eq!(euro("1234567.89"), "1.234.567,89 €");
        assert_eq!(euro("n/a"), "n/a €");
    }
}
