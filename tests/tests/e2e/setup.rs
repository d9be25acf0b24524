//! The FE configuration wizard (issue 10): case 1 from the activation
//! email to an active service, every step's field errors with their
//! pointers, the order of the steps, idempotent saves and completion, the
//! panel user's own service only, and the module states and actions that
//! follow the service's.

use futures_util::future::join;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tests::story::{
    SETUP_STEPS, address, avvisi, cassa_previdenziale, cedente_prestatore, problem, regime_fiscale,
    setup_body,
};
use tests::{Reply, both_databases};

/// The (pointer, code) pairs of a 422, in any order.
fn field_errors(reply: &Reply) -> BTreeSet<(String, String)> {
    let body = problem(reply, 422, "validation_failed");
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {}", reply.text))
        .iter()
        .map(|e| {
            assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()), "{e}");
            (
                e["pointer"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    expected
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

fn module<'a>(view: &'a Value, code: &str) -> &'a Value {
    view["modules"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["code"] == code))
        .unwrap_or_else(|| panic!("no module {code}: {view}"))
}

fn assert_module(view: &Value, code: &str, state: &str, actions: &[&str]) {
    let found = module(view, code);
    assert_eq!(found["state"], state, "{code}: {view}");
    assert_eq!(found["actions"], json!(actions), "{code}: {view}");
}

/// The pointers of the steps a 409 names.
fn named_steps(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["pointer"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

both_databases!(
    case_1_from_the_activation_email_through_the_wizard_to_an_active_service,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let (_, credentials) = app.activation_mail(&fe.customer.activation_email()).await;
        // The temporary password's token opens only the password change.
        let restricted = app
            .panel_login(&credentials.username, &credentials.temporary_password)
            .await;
        let restricted = restricted.body["access_token"].as_str().unwrap_or_default();
        for reply in [
            app.get_as("/v1/panel/setup", restricted).await,
            app.save_step(restricted, "cedente_prestatore", &cedente_prestatore())
                .await,
            app.complete_setup(restricted).await,
        ] {
            problem(&reply, 403, "password_change_required");
        }
        let panel = app.first_panel_login(&credentials).await;

        // Before the wizard: the service awaits it, I&P waits for it.
        let status = app.panel_status(&panel).await;
        assert_eq!(status["status"], "awaiting_configuration", "{status}");
        assert_module(&status, "incassi-pagamenti", "purchased", &[]);
        assert_module(&status, "documenti", "available", &["purchase"]);
        let service = app.service(&fe.customer, &fe.service_id).await;
        assert_module(&service, "incassi-pagamenti", "purchased", &[]);

        // The wizard, not started, with the holder's tax ids read-only.
        let wizard = app.setup(&panel).await;
        assert_eq!(wizard["service_id"], fe.service_id.as_str(), "{wizard}");
        assert_eq!(wizard["service_status"], "awaiting_configuration");
        assert_eq!(wizard["status"], "not_started");
        assert_eq!(wizard["next_step"], "cedente_prestatore");
        assert_eq!(
            wizard["read_only"],
            json!({"partita_iva": "01234567897", "codice_fiscale": "01234567897"})
        );
        let steps = wizard["steps"].as_array().cloned().unwrap_or_default();
        assert_eq!(steps.len(), 5, "{wizard}");
        for (step, name) in steps.iter().zip(SETUP_STEPS) {
            assert_eq!(
                step,
                &json!({"step": name, "state": "todo", "data": null, "saved_at": null})
            );
        }

        // Step 1, sending the read-only tax ids back unchanged.
        let mut cedente = cedente_prestatore();
        cedente["partita_iva"] = json!("01234567897");
        cedente["codice_fiscale"] = json!("01234567897");
        let saved = app.save_step(&panel, "cedente_prestatore", &cedente).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        assert_eq!(saved.body["status"], "in_progress", "{}", saved.text);
        assert_eq!(saved.body["next_step"], "regime_fiscale");
        let first = &saved.body["steps"][0];
        assert_eq!(first["state"], "saved", "{first}");
        assert!(first["saved_at"].is_string(), "{first}");
        let mut shown = cedente_prestatore();
        shown["partita_iva"] = json!("01234567897");
        shown["codice_fiscale"] = json!("01234567897");
        shown["nome"] = Value::Null;
        shown["cognome"] = Value::Null;
        shown["codice_ipa"] = Value::Null;
        assert_eq!(first["data"], shown, "the holder's tax ids are shown");
        assert_eq!(saved.body["steps"][1]["state"], "todo");
        assert_eq!(app.setup(&panel).await, saved.body);

        // Steps 2 to 5.
        for (index, step) in SETUP_STEPS.iter().enumerate().skip(1) {
            let reply = app.save_step(&panel, step, &setup_body(step)).await;
            assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.text);
            assert_eq!(reply.body["steps"][index]["state"], "saved");
            assert_eq!(
                reply.body["next_step"],
                SETUP_STEPS.get(index + 1).map_or(Value::Null, |s| json!(s))
            );
        }
        let all_saved = app.setup(&panel).await;
        assert_eq!(all_saved["status"], "in_progress", "saved is not completed");
        assert_eq!(all_saved["steps"][2]["data"], cassa_with_nulls());
        assert_eq!(all_saved["steps"][4]["data"], avvisi());

        // Completing activates the service.
        let done = app.complete_setup(&panel).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert_eq!(done.body["status"], "completed", "{}", done.text);
        assert_eq!(done.body["service_status"], "active");
        assert_eq!(done.body["next_step"], Value::Null);
        assert_eq!(done.body["steps"], all_saved["steps"]);
        assert_eq!(app.setup(&panel).await, done.body);

        // The service is active; I&P offers its wizard now.
        let status = app.panel_status(&panel).await;
        assert_eq!(status["status"], "active", "{status}");
        assert_module(
            &status,
            "incassi-pagamenti",
            "wizard_pending",
            &["start_wizard"],
        );
        let service = app.service(&fe.customer, &fe.service_id).await;
        assert_eq!(service["status"], "active", "{service}");
        assert_module(
            &service,
            "incassi-pagamenti",
            "wizard_pending",
            &["start_wizard"],
        );
        assert_module(&service, "documenti", "available", &["purchase"]);

        // A second completion answers the same and changes nothing.
        let again = app.complete_setup(&panel).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.body, done.body);
    }
);

/// [`cassa_previdenziale`] as shown: the absent natura is null.
fn cassa_with_nulls() -> Value {
    let mut casse = cassa_previdenziale();
    casse["casse"][0]["natura"] = Value::Null;
    casse
}

both_databases!(
    every_refused_field_of_a_step_is_reported_at_once_with_its_pointer,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;

        // cedente_prestatore: the name, the codice IPA, the read-only tax
        // ids, the sede, the contatti and the REA, all in one answer.
        let wrong = json!({
            "tipo_attivita": "azienda",
            "nome": "Mario",
            "codice_ipa": "UFXYZ1",
            "partita_iva": "12345678903",
            "codice_fiscale": "RSSMRA85T10A562S",
            "sede": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "2012",
                     "comune": "Milano", "provincia": "MX", "nazione": "IT"},
            "contatti": {"telefono": "chiamami", "email": "not-an-email"},
            "rea": {"ufficio": "ZZ", "numero_rea": "MI-1", "capitale_sociale": "1,000",
                    "stato_liquidazione": "LN"}
        });
        let reply = app.save_step(&panel, "cedente_prestatore", &wrong).await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[
                ("/nome", "not_allowed"),
                ("/denominazione", "required"),
                ("/codice_ipa", "not_allowed"),
                ("/partita_iva", "read_only_field"),
                ("/codice_fiscale", "read_only_field"),
                ("/sede/cap", "invalid_cap"),
                ("/sede/provincia", "invalid_provincia"),
                ("/contatti/telefono", "invalid_phone"),
                ("/contatti/email", "invalid_email"),
                ("/rea/ufficio", "invalid_provincia"),
                ("/rea/capitale_sociale", "invalid_amount"),
            ])
        );
        let pa = |codice_ipa: Value| {
            json!({"tipo_attivita": "pubblica_amministrazione", "denominazione": "Comune di Milano",
                   "codice_ipa": codice_ipa, "sede": address()})
        };
        let reply = app
            .save_step(&panel, "cedente_prestatore", &pa(Value::Null))
            .await;
        assert_eq!(field_errors(&reply), pairs(&[("/codice_ipa", "required")]));
        let reply = app
            .save_step(&panel, "cedente_prestatore", &pa(json!("UF-XY1")))
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/codice_ipa", "invalid_codice_ipa")])
        );
        let reply = app
            .save_step(&panel, "cedente_prestatore", &pa(json!("UFXY1")))
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/codice_ipa", "invalid_length")])
        );
        let ditta = json!({"tipo_attivita": "ditta_individuale", "denominazione": "Rossi",
                           "nome": "Mario", "sede": {"indirizzo": "Baker Street", "numero_civico": "221B",
                           "cap": "NW1 6XE", "comune": "London", "provincia": "", "nazione": "UK"}});
        let reply = app.save_step(&panel, "cedente_prestatore", &ditta).await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[
                ("/denominazione", "not_allowed"),
                ("/cognome", "required"),
                ("/sede/nazione", "invalid_nazione"),
            ])
        );
        // A length the schema refuses is reported with the step's rules.
        let mut long = cedente_prestatore();
        long["denominazione"] = json!("A".repeat(81));
        long["sede"]["cap"] = json!("201");
        let reply = app.save_step(&panel, "cedente_prestatore", &long).await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[
                ("/denominazione", "invalid_length"),
                ("/sede/cap", "invalid_cap"),
            ])
        );
        // The shape: an unknown field, an unknown tipo_attivita.
        let mut extra = cedente_prestatore();
        extra["status"] = json!("active");
        let reply = app.save_step(&panel, "cedente_prestatore", &extra).await;
        assert_eq!(field_errors(&reply), pairs(&[("/status", "unknown_field")]));
        let mut tipo = cedente_prestatore();
        tipo["tipo_attivita"] = json!("spa");
        let reply = app.save_step(&panel, "cedente_prestatore", &tipo).await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/tipo_attivita", "invalid_value")])
        );
        // Nothing was saved.
        assert_eq!(app.setup(&panel).await["status"], "not_started");

        let saved = app
            .save_step(&panel, "cedente_prestatore", &cedente_prestatore())
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);

        // regime_fiscale: RF03 does not exist.
        let reply = app
            .save_step(
                &panel,
                "regime_fiscale",
                &json!({"regime_fiscale": "RF03", "esigibilita_iva": "differita"}),
            )
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/regime_fiscale", "invalid_regime_fiscale")])
        );
        let reply = app
            .save_step(
                &panel,
                "regime_fiscale",
                &json!({"regime_fiscale": "RF19", "esigibilita_iva": "subito"}),
            )
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/esigibilita_iva", "invalid_value")])
        );
        let saved = app
            .save_step(&panel, "regime_fiscale", &regime_fiscale())
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);

        // cassa_previdenziale: codes, rates, the IVA or its natura, a
        // repeated tipo_cassa, and too many casse.
        let cassa = |tipo: &str, aliquota: &str, iva: Value, natura: Value| {
            json!({"tipo_cassa": tipo, "aliquota": aliquota, "imponibile_percentuale": "100.00",
                   "aliquota_iva": iva, "natura": natura, "ritenuta": true})
        };
        let casse = json!({"casse": [
            cassa("TC23", "4", json!("22.00"), Value::Null),
            cassa("TC22", "101.00", json!("0.00"), Value::Null),
            cassa("TC22", "4.00", json!("22.00"), json!("N4")),
            cassa("TC01", "2.00", Value::Null, json!("N2")),
        ]});
        let reply = app.save_step(&panel, "cassa_previdenziale", &casse).await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[
                ("/casse", "too_many_casse"),
                ("/casse/0/tipo_cassa", "invalid_tipo_cassa"),
                ("/casse/0/aliquota", "invalid_rate"),
                ("/casse/1/aliquota", "invalid_rate"),
                ("/casse/1/natura", "required"),
                ("/casse/2/tipo_cassa", "duplicate_tipo_cassa"),
                ("/casse/2/natura", "not_allowed"),
                ("/casse/3/natura", "invalid_natura"),
            ])
        );
        let none = app
            .save_step(&panel, "cassa_previdenziale", &json!({"casse": []}))
            .await;
        assert_eq!(
            none.status,
            StatusCode::OK,
            "no cassa is a choice: {}",
            none.text
        );
        let natura = json!({"casse": [cassa("TC04", "2.00", json!("0.00"), json!("N2.2"))]});
        let saved = app.save_step(&panel, "cassa_previdenziale", &natura).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        assert_eq!(saved.body["steps"][2]["data"], natura);

        // preferenze_documento: TD07 is not a FatturaPA document type.
        let reply = app
            .save_step(
                &panel,
                "preferenze_documento",
                &json!({"tipo_documento": "TD07", "prezzi": "lordi"}),
            )
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/tipo_documento", "invalid_tipo_documento")])
        );
        let saved = app
            .save_step(
                &panel,
                "preferenze_documento",
                &json!({"tipo_documento": "TD29", "prezzi": "lordi"}),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);

        // avvisi: real addresses, a known channel.
        let reply = app
            .save_step(
                &panel,
                "avvisi",
                &json!({"notifiche_sdi": {"canale": "pec", "indirizzo": "nessuno"},
                        "fatture_ricevute": {"canale": "email", "indirizzo": "a@b@c"}}),
            )
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[
                ("/notifiche_sdi/indirizzo", "invalid_email"),
                ("/fatture_ricevute/indirizzo", "invalid_email"),
            ])
        );
        let reply = app
            .save_step(
                &panel,
                "avvisi",
                &json!({"notifiche_sdi": {"canale": "fax", "indirizzo": "a@example.com"},
                        "fatture_ricevute": {"canale": "email", "indirizzo": "a@example.com"}}),
            )
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/notifiche_sdi/canale", "invalid_value")])
        );
        let wizard = app.setup(&panel).await;
        assert_eq!(wizard["next_step"], "avvisi", "{wizard}");
        assert_eq!(wizard["steps"][4]["state"], "todo");
    }
);

both_databases!(
    steps_are_saved_in_order_and_edited_in_any_order,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;

        // No step before cedente_prestatore, whose pointer is /steps/0.
        let early = app.save_step(&panel, "avvisi", &avvisi()).await;
        let body = problem(&early, 409, "step_out_of_order");
        assert_eq!(named_steps(body), ["/steps/0"], "{}", early.text);
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("cedente_prestatore")),
            "{}",
            early.text
        );
        // An unknown step is no resource, named in the detail.
        let unknown = app.save_step(&panel, "anagrafica", &avvisi()).await;
        let body = problem(&unknown, 404, "not_found");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("step")),
            "{}",
            unknown.text
        );

        let saved = app
            .save_step(&panel, "cedente_prestatore", &cedente_prestatore())
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        let skip = app
            .save_step(&panel, "cassa_previdenziale", &cassa_previdenziale())
            .await;
        let body = problem(&skip, 409, "step_out_of_order");
        assert_eq!(named_steps(body), ["/steps/1"], "{}", skip.text);
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("regime_fiscale")),
            "{}",
            skip.text
        );
        for step in &SETUP_STEPS[1..4] {
            let reply = app.save_step(&panel, step, &setup_body(step)).await;
            assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.text);
        }

        // An earlier step may be edited: now a ditta individuale.
        let ditta = json!({"tipo_attivita": "ditta_individuale", "nome": "Mario",
                           "cognome": "Rossi", "sede": address()});
        let edited = app.save_step(&panel, "cedente_prestatore", &ditta).await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
        let data = &edited.body["steps"][0]["data"];
        assert_eq!(data["tipo_attivita"], "ditta_individuale", "{data}");
        assert_eq!(data["nome"], "Mario");
        assert_eq!(data["denominazione"], Value::Null);
        assert_eq!(data["contatti"], Value::Null, "the old contatti are gone");
        assert_eq!(edited.body["next_step"], "avvisi");
        assert_eq!(edited.body["status"], "in_progress");

        // Completing names what is missing and activates nothing.
        let early = app.complete_setup(&panel).await;
        let body = problem(&early, 409, "setup_incomplete");
        assert_eq!(named_steps(body), ["/steps/4"], "{}", early.text);
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("avvisi")),
            "{}",
            early.text
        );
        assert_eq!(
            app.panel_status(&panel).await["status"],
            "awaiting_configuration"
        );
        let other = app.customer_with_fe("00743110157").await;
        let none = app.panel_of(&other).await;
        let body = problem(&app.complete_setup(&none).await, 409, "setup_incomplete").clone();
        assert_eq!(
            named_steps(&body),
            ["/steps/0", "/steps/1", "/steps/2", "/steps/3", "/steps/4"]
        );
    }
);

both_databases!(
    saving_the_same_body_twice_leaves_one_state_and_completing_twice_changes_nothing,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;
        let first = app
            .save_step(&panel, "cedente_prestatore", &cedente_prestatore())
            .await;
        let second = app
            .save_step(&panel, "cedente_prestatore", &cedente_prestatore())
            .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        assert_eq!(second.status, StatusCode::OK, "{}", second.text);
        let without_time = |body: &Value| {
            let mut body = body.clone();
            body["steps"][0]["saved_at"] = Value::Null;
            body
        };
        assert_eq!(without_time(&first.body), without_time(&second.body));
        let store = app.store().await;
        let service_id = uuid::Uuid::parse_str(&fe.service_id).unwrap_or_else(|e| panic!("{e}"));
        let rows = store
            .setup()
            .steps_of(service_id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1, "one row for the step: {rows:?}");
        store.close().await;

        for step in &SETUP_STEPS[1..] {
            let reply = app.save_step(&panel, step, &setup_body(step)).await;
            assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.text);
        }
        // Two completions at once: both answer the active service.
        let (a, b) = join(app.complete_setup(&panel), app.complete_setup(&panel)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(b.status, StatusCode::OK, "{}", b.text);
        assert_eq!(a.body, b.body);
        assert_eq!(a.body["service_status"], "active", "{}", a.text);
        let again = app.complete_setup(&panel).await;
        assert_eq!(again.body, a.body, "{}", again.text);
        assert_eq!(app.setup(&panel).await, a.body);
        // configure_fe on another service, in one line.
        let other = app.customer_with_fe("00743110157").await;
        let other_panel = app.panel_of(&other).await;
        let done = app.configure_fe(&other_panel).await;
        assert_eq!(done["service_id"], other.service_id.as_str());
    }
);

both_databases!(
    a_panel_user_sees_and_saves_only_its_own_services_setup,
    |app| async move {
        let alfa = app.customer_with_fe("01234567897").await;
        let beta = app.customer_with_fe("00743110157").await;
        let alfa_panel = app.panel_of(&alfa).await;
        let beta_panel = app.panel_of(&beta).await;

        let saved = app
            .save_step(&alfa_panel, "cedente_prestatore", &cedente_prestatore())
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        let beta_wizard = app.setup(&beta_panel).await;
        assert_eq!(beta_wizard["service_id"], beta.service_id.as_str());
        assert_eq!(beta_wizard["status"], "not_started", "{beta_wizard}");
        assert_eq!(beta_wizard["read_only"]["partita_iva"], "00743110157");
        // Beta's own holder: Alfa's tax ids are another's.
        let mut alfa_ids = cedente_prestatore();
        alfa_ids["partita_iva"] = json!("01234567897");
        let reply = app
            .save_step(&beta_panel, "cedente_prestatore", &alfa_ids)
            .await;
        assert_eq!(
            field_errors(&reply),
            pairs(&[("/partita_iva", "read_only_field")])
        );
        let mut beta_body = cedente_prestatore();
        beta_body["denominazione"] = json!("Beta S.p.A.");
        let saved = app
            .save_step(&beta_panel, "cedente_prestatore", &beta_body)
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        let alfa_wizard = app.setup(&alfa_panel).await;
        assert_eq!(
            alfa_wizard["steps"][0]["data"]["denominazione"],
            "Alfa S.r.l."
        );
        assert_eq!(alfa_wizard["service_id"], alfa.service_id.as_str());

        // Completing one configures that one only.
        app.configure_fe(&beta_panel).await;
        assert_eq!(app.setup(&alfa_panel).await["status"], "in_progress");
        assert_eq!(
            app.service(&alfa.customer, &alfa.service_id).await["status"],
            "awaiting_configuration"
        );

        // The wizard is the panel's: a token of another audience is refused.
        let customer = app.get_as("/v1/panel/setup", &alfa.customer.token).await;
        problem(&customer, 403, "wrong_audience");
    }
);

both_databases!(
    modules_wait_for_the_fe_configuration_then_follow_their_own_rules,
    |app| async move {
        let fe = app.customer_with_fe("01234567897").await;
        let panel = app.panel_of(&fe).await;
        // The add-on purchase stays open before the FE is configured.
        let reply = app
            .post_keyed(
                "/v1/panel/addons/documenti/purchase",
                &panel,
                &tests::story::new_key(),
                &json!({"payment_method": "card", "accept_terms": true}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        app.pay_by_card(&reply.body).await;
        let status = app.panel_status(&panel).await;
        assert_module(&status, "documenti", "purchased", &[]);
        assert_module(&status, "incassi-pagamenti", "purchased", &[]);
        assert_module(&status, "woocommerce", "available", &["purchase"]);

        // Configured: the one bought with the FE goes to its wizard, the
        // one bought later to the matching procedure first.
        app.configure_fe(&panel).await;
        let status = app.panel_status(&panel).await;
        assert_module(
            &status,
            "incassi-pagamenti",
            "wizard_pending",
            &["start_wizard"],
        );
        assert_module(&status, "documenti", "matching_required", &["run_matching"]);
        let service = app.service(&fe.customer, &fe.service_id).await;
        assert_eq!(service["modules"], status["modules"]);
    }
);
