//! The contacts (anagrafiche) of a service, from the panel: open once the
//! FE configuration is complete; created, read, listed with filters and a
//! cursor, changed under If-Match, deleted; each service sees only its own.

use crate::errors::assert_rfc9457;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tests::story::problem;
use tests::{Reply, TestApp, both_databases};

/// A company customer of the service.
fn rossi() -> Value {
    json!({
        "role": "cliente",
        "kind": "persona_giuridica",
        "denominazione": "Rossi Forniture S.r.l.",
        "partita_iva": {"paese": "it", "codice": "0123456789 7"},
        "sede": {"indirizzo": "Via Roma", "numero_civico": "1", "cap": "00184",
                 "comune": "Roma", "provincia": "RM", "nazione": "IT"},
        "email": "amministrazione@rossiforniture.it",
        "codice_destinatario": "abc1234"
    })
}

/// A person, supplier of the service, named by Codice Fiscale only.
fn bianchi() -> Value {
    json!({
        "role": "fornitore",
        "kind": "persona_fisica",
        "nome": "Anna",
        "cognome": "Bianchi",
        "codice_fiscale": "bnchnn80a41h501y",
        "sede": {"indirizzo": "Corso Italia", "numero_civico": "5", "cap": "20122",
                 "comune": "Milano", "provincia": "MI", "nazione": "IT"}
    })
}

fn named(role: &str, denominazione: &str) -> Value {
    let mut body = rossi();
    body["role"] = json!(role);
    body["denominazione"] = json!(denominazione);
    body
}

async fn create(app: &TestApp, panel: &str, body: &Value) -> Value {
    let reply = app.post_as("/v1/panel/contacts", panel, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

async fn patch(
    app: &TestApp,
    panel: &str,
    id: &str,
    if_match: Option<&str>,
    body: &Value,
) -> Reply {
    let mut request = app
        .request(Method::PATCH, &format!("/v1/panel/contacts/{id}"))
        .bearer_auth(panel)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    app.send(request).await
}

fn etag(reply: &Reply) -> String {
    reply
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The names of a list's page, in order.
fn names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", reply.text))
        .iter()
        .map(|c| c["display_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

both_databases!(contacts_open_once_the_fe_is_configured, |app| async move {
    let fe = app.customer_with_fe("01234567897").await;
    let panel = app.panel_of(&fe).await;
    for reply in [
        app.get_as("/v1/panel/contacts", &panel).await,
        app.post_as("/v1/panel/contacts", &panel, &rossi()).await,
    ] {
        let body = assert_rfc9457(&reply, 403, "setup_required");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("/v1/panel/setup"),
            "{body}"
        );
    }
    app.configure_fe(&panel).await;
    let reply = app.get_as("/v1/panel/contacts", &panel).await;
    assert_eq!(
        reply.body,
        json!({"items": [], "next_cursor": null}),
        "{}",
        reply.text
    );
});

both_databases!(
    a_contact_is_stored_as_normalised_and_read_back,
    |app| async move {
        let panel = app.configured_panel("01234567897").await;
        let reply = app.post_as("/v1/panel/contacts", &panel, &rossi()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.body["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            reply.headers.get("location").and_then(|v| v.to_str().ok()),
            Some(format!("/v1/panel/contacts/{id}").as_str())
        );
        assert_eq!(etag(&reply), "\"1\"");
        let created = reply.body;
        assert_eq!(created["display_name"], "Rossi Forniture S.r.l.");
        assert_eq!(
            created["partita_iva"],
            json!({"paese": "IT", "codice": "01234567897"})
        );
        assert_eq!(created["codice_destinatario"], "ABC1234");
        assert_eq!(created["role"], "cliente");
        assert_eq!(created["version"], 1);
        assert!(created.get("nome").is_none(), "{created}");
        assert_eq!(created["created_at"], created["updated_at"]);
        assert!(
            created["updated_by"].is_string(),
            "who changed it last: {created}"
        );

        let read = app
            .get_as(&format!("/v1/panel/contacts/{id}"), &panel)
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.body, created);
        assert_eq!(etag(&read), "\"1\"");

        let person = create(app, &panel, &bianchi()).await;
        assert_eq!(person["display_name"], "Bianchi Anna");
        assert_eq!(person["codice_fiscale"], "BNCHNN80A41H501Y");
        assert!(person.get("partita_iva").is_none(), "{person}");
        // Duplicates are allowed: the matching procedure merges them.
        let again = create(app, &panel, &rossi()).await;
        assert_ne!(again["id"], created["id"]);
    }
);

both_databases!(
    every_refused_field_is_named_by_its_pointer,
    |app| async move {
        let panel = app.configured_panel("01234567897").await;
        let mut body = rossi();
        body["nome"] = json!("Mario");
        body["denominazione"] = json!("  ");
        body["partita_iva"] = json!({"paese": "IT", "codice": "01234567890"});
        body["codice_fiscale"] = json!("XYZ");
        body["sede"]["cap"] = json!("123");
        body["sede"]["provincia"] = json!("ZZ");
        body["pec"] = json!("not-an-address");
        body["codice_destinatario"] = json!("12345678");
        let reply = app.post_as("/v1/panel/contacts", &panel, &body).await;
        let refused = problem(&reply, 422, "validation_failed");
        let errors: Vec<(String, String)> = refused["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors: {refused}"))
            .iter()
            .map(|e| {
                (
                    e["pointer"].as_str().unwrap_or_default().to_owned(),
                    e["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = [
            ("/nome", "not_allowed"),
            ("/denominazione", "required"),
            ("/partita_iva/codice", "invalid_partita_iva"),
            ("/codice_fiscale", "invalid_codice_fiscale"),
            ("/sede/cap", "invalid_cap"),
            ("/sede/provincia", "invalid_provincia"),
            ("/pec", "invalid_email"),
            ("/codice_destinatario", "invalid_codice_destinatario"),
        ]
        .into_iter()
        .map(|(p, c)| (p.to_owned(), c.to_owned()))
        .collect();
        assert_eq!(errors, expected, "{refused}");

        // Foreign ids: a country and up to 28 characters.
        let mut foreign = rossi();
        foreign["sede"] = json!({"indirizzo": "Hauptstrasse", "numero_civico": "3", "cap": "10115",
                              "comune": "Berlin", "provincia": "", "nazione": "DE"});
        foreign["partita_iva"] = json!({"paese": "DE", "codice": "123456789"});
        let stored = create(app, &panel, &foreign).await;
        assert_eq!(
            stored["partita_iva"],
            json!({"paese": "DE", "codice": "123456789"})
        );
        foreign["partita_iva"] = json!({"paese": "QQ", "codice": "X".repeat(29)});
        let reply = app.post_as("/v1/panel/contacts", &panel, &foreign).await;
        let refused = problem(&reply, 422, "validation_failed");
        let pointers: Vec<&str> = refused["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["pointer"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            pointers,
            ["/partita_iva/paese", "/partita_iva/codice"],
            "{refused}"
        );

        // Without any tax id; with a field the contract does not have.
        let mut untaxed = rossi();
        untaxed.as_object_mut().map(|o| o.remove("partita_iva"));
        let reply = app.post_as("/v1/panel/contacts", &panel, &untaxed).await;
        let refused = problem(&reply, 422, "validation_failed");
        assert_eq!(refused["errors"][0]["pointer"], "/partita_iva", "{refused}");
        let mut unknown = rossi();
        unknown["iban"] = json!("IT60X0542811101000000123456");
        let reply = app.post_as("/v1/panel/contacts", &panel, &unknown).await;
        let refused = problem(&reply, 422, "validation_failed");
        assert_eq!(refused["errors"][0]["pointer"], "/iban", "{refused}");
        assert_eq!(refused["errors"][0]["code"], "unknown_field", "{refused}");

        // Nothing refused was stored.
        let list = app.get_as("/v1/panel/contacts", &panel).await;
        assert_eq!(names(&list), ["Rossi Forniture S.r.l."]);
    }
);

both_databases!(
    lists_filter_and_page_without_repeating_or_skipping,
    |app| async move {
        let panel = app.configured_panel("01234567897").await;
        let mut other = named("fornitore", "Verdi Logistica S.p.A.");
        other["partita_iva"] = json!({"paese": "IT", "codice": "07643520567"});
        for body in [
            rossi(),
            bianchi(),
            named("cliente", "rossetti & figli"),
            other,
            named("cliente", "Alfa S.r.l."),
        ] {
            create(app, &panel, &body).await;
        }
        let list = |query: &'static str| {
            let panel = panel.clone();
            async move {
                app.get_as(&format!("/v1/panel/contacts{query}"), &panel)
                    .await
            }
        };
        // By name, case aside.
        assert_eq!(
            names(&list("").await),
            [
                "Alfa S.r.l.",
                "Bianchi Anna",
                "rossetti & figli",
                "Rossi Forniture S.r.l.",
                "Verdi Logistica S.p.A."
            ]
        );
        assert_eq!(
            names(&list("?role=fornitore").await),
            ["Bianchi Anna", "Verdi Logistica S.p.A."]
        );
        // A prefix of the name, whatever its case.
        assert_eq!(
            names(&list("?q=ROSS").await),
            ["rossetti & figli", "Rossi Forniture S.r.l."]
        );
        assert_eq!(
            names(&list("?q=rossi&role=cliente").await),
            ["Rossi Forniture S.r.l."]
        );
        assert_eq!(names(&list("?q=forniture").await), Vec::<String>::new());
        // Tax ids as written by people: spaces, lower case.
        assert_eq!(
            names(&list("?partita_iva=0764%20352%200567").await),
            ["Verdi Logistica S.p.A."]
        );
        assert_eq!(
            names(&list("?codice_fiscale=bnchnn80a41h501y").await),
            ["Bianchi Anna"]
        );
        assert_eq!(
            names(&list("?updated_since=2999-01-01T00:00:00Z").await),
            Vec::<String>::new()
        );
        assert_eq!(
            names(&list("?updated_since=2000-01-01T00:00:00Z&role=fornitore").await).len(),
            2
        );
        // Bad filters are named.
        problem(&list("?role=cliente_vip").await, 422, "validation_failed");
        let reply = list("?updated_since=yesterday").await;
        assert_eq!(
            problem(&reply, 422, "validation_failed")["errors"][0]["pointer"],
            "/updated_since"
        );
        let reply = list("?limit=0").await;
        assert_eq!(
            problem(&reply, 422, "validation_failed")["errors"][0]["pointer"],
            "/limit"
        );

        // Pages of 2, with contacts added between the pages: one before the
        // cursor (not seen), one after it (seen once).
        let mut seen = Vec::new();
        let mut path = "/v1/panel/contacts?limit=2".to_owned();
        let mut pages = 0;
        loop {
            let reply = app.get_as(&path, &panel).await;
            seen.extend(names(&reply));
            pages += 1;
            if pages == 1 {
                create(app, &panel, &named("cliente", "Aaa S.r.l.")).await;
                create(app, &panel, &named("cliente", "Zeta S.r.l.")).await;
            }
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/panel/contacts?limit=2&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 10, "the pages never end: {seen:?}");
        }
        assert_eq!(
            seen,
            [
                "Alfa S.r.l.",
                "Bianchi Anna",
                "rossetti & figli",
                "Rossi Forniture S.r.l.",
                "Verdi Logistica S.p.A.",
                "Zeta S.r.l."
            ],
            "neither repeated nor skipped"
        );
        assert_eq!(
            seen.iter().collect::<BTreeSet<_>>().len(),
            6,
            "no repeats: {seen:?}"
        );
        // Any cursor of the documented pattern is a position; another is not.
        let reply = list("?cursor=ff_00000000-0000-0000-0000-000000000000").await;
        assert_eq!(names(&reply), Vec::<String>::new());
        let reply = list("?cursor=zz_00000000-0000-0000-0000-000000000000").await;
        assert_eq!(
            problem(&reply, 422, "validation_failed")["errors"][0]["code"],
            "invalid_cursor"
        );
    }
);

both_databases!(a_change_under_if_match_is_made_once, |app| async move {
    let panel = app.configured_panel("01234567897").await;
    let created = create(app, &panel, &rossi()).await;
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    let changed = patch(
        app,
        &panel,
        &id,
        Some("\"1\""),
        &json!({"email": null, "pec": "rossi@pec.it"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(etag(&changed), "\"2\"");
    assert_eq!(changed.body["version"], 2);
    assert!(
        changed.body.get("email").is_none(),
        "null removes: {}",
        changed.text
    );
    assert_eq!(changed.body["pec"], "rossi@pec.it");
    assert_eq!(
        changed.body["denominazione"], created["denominazione"],
        "the rest stays"
    );
    assert_eq!(changed.body["created_at"], created["created_at"]);
    assert_ne!(
        changed.body["updated_at"], created["updated_at"],
        "when it was last changed"
    );
    assert_eq!(
        changed.body["updated_by"], created["updated_by"],
        "by the same panel user"
    );

    // A change based on the old version is refused and changes nothing.
    let stale = patch(
        app,
        &panel,
        &id,
        Some("\"1\""),
        &json!({"denominazione": "Altro"}),
    )
    .await;
    let refused = problem(&stale, 412, "precondition_failed");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("version 2"),
        "{refused}"
    );
    let read = app
        .get_as(&format!("/v1/panel/contacts/{id}"), &panel)
        .await;
    assert_eq!(read.body, changed.body);

    // Two changes on the same version at once: one is made.
    let (uno, due) = (
        json!({"denominazione": "Uno S.r.l."}),
        json!({"denominazione": "Due S.r.l."}),
    );
    let (a, b) = tokio::join!(
        patch(app, &panel, &id, Some("\"2\""), &uno),
        patch(app, &panel, &id, Some("\"2\""), &due),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
    let winner = if a.status == StatusCode::OK { &a } else { &b };
    let read = app
        .get_as(&format!("/v1/panel/contacts/{id}"), &panel)
        .await;
    assert_eq!(read.body["denominazione"], winner.body["denominazione"]);
    assert_eq!(read.body["version"], 3);

    // Without If-Match the change is merged into the current version.
    let free = patch(app, &panel, &id, None, &json!({"role": "fornitore"})).await;
    assert_eq!(free.status, StatusCode::OK, "{}", free.text);
    assert_eq!(free.body["version"], 4);
    assert_eq!(free.body["role"], "fornitore");

    // The merged contact is checked as a whole: every refused field named.
    let invalid = patch(
        app,
        &panel,
        &id,
        None,
        &json!({"kind": "persona_fisica", "codice_destinatario": "x"}),
    )
    .await;
    let refused = problem(&invalid, 422, "validation_failed");
    let pointers: Vec<&str> = refused["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["pointer"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        pointers,
        [
            "/denominazione",
            "/nome",
            "/cognome",
            "/codice_destinatario"
        ],
        "{refused}"
    );
    let unknown = patch(app, &panel, &id, None, &json!({"id": "x"})).await;
    assert_eq!(
        problem(&unknown, 422, "validation_failed")["errors"][0]["code"],
        "unknown_field"
    );
    let read = app
        .get_as(&format!("/v1/panel/contacts/{id}"), &panel)
        .await;
    assert_eq!(read.body, free.body, "nothing refused was stored");
});

both_databases!(a_deleted_contact_is_gone, |app| async move {
    let panel = app.configured_panel("01234567897").await;
    let kept = create(app, &panel, &bianchi()).await;
    let gone = create(app, &panel, &rossi()).await;
    let path = format!(
        "/v1/panel/contacts/{}",
        gone["id"].as_str().unwrap_or_default()
    );
    let deleted = app
        .send(app.request(Method::DELETE, &path).bearer_auth(&panel))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    problem(&app.get_as(&path, &panel).await, 404, "contact_not_found");
    let again = app
        .send(app.request(Method::DELETE, &path).bearer_auth(&panel))
        .await;
    problem(&again, 404, "contact_not_found");
    let list = app.get_as("/v1/panel/contacts", &panel).await;
    assert_eq!(
        names(&list),
        [kept["display_name"].as_str().unwrap_or_default()]
    );
});

both_databases!(another_services_contact_is_not_there, |app| async move {
    let mine = app.configured_panel("01234567897").await;
    let theirs = app.configured_panel("07643520567").await;
    let contact = create(app, &mine, &rossi()).await;
    let path = format!(
        "/v1/panel/contacts/{}",
        contact["id"].as_str().unwrap_or_default()
    );
    let read = app.get_as(&path, &theirs).await;
    let body = problem(&read, 404, "contact_not_found");
    assert!(!read.text.contains("Rossi"), "none of its data: {body}");
    let changed = patch(
        app,
        &theirs,
        contact["id"].as_str().unwrap_or_default(),
        None,
        &json!({"pec": "x@pec.it"}),
    )
    .await;
    problem(&changed, 404, "contact_not_found");
    let deleted = app
        .send(app.request(Method::DELETE, &path).bearer_auth(&theirs))
        .await;
    problem(&deleted, 404, "contact_not_found");
    assert_eq!(
        names(&app.get_as("/v1/panel/contacts", &theirs).await),
        Vec::<String>::new()
    );
    // Still there, unchanged, for its own service.
    let read = app.get_as(&path, &mine).await;
    assert_eq!(read.body, contact);
});
