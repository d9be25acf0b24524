//! The FE panel and the back office: panel credentials issued for a
//! service (username from the holder's tax id, a random temporary password
//! stored only as a hash, expiring, to be changed at the first login), the
//! restricted token a temporary password gives, the password change,
//! expiry, reissue by an operator, operators created from the command line,
//! and areas that refuse each other's tokens.
//!
//! Each scenario arranges its FE service below HTTP through `app.store()`,
//! for a customer that signed up through the API, and issues the
//! credentials with `api::panel::credentials::issue_panel_credentials` (the back
//! office's reissue; fulfilment mints them the same way, and the purchase
//! scenarios cover that flow end to end, email included).

use crate::errors::{assert_invalid_field, assert_rfc9457};
use crate::identity::{
    ARGON2ID_OWASP, PASSWORD, SECRET, assert_at_most_verified, assert_bearer_challenge,
    assert_no_store, assert_security_headers, assert_session, assert_throttled, client_at, company,
    customer_session, person, post_from, refresh, verified,
};
use api::panel::credentials::{IssuedCredentials, issue_panel_credentials};
use domain::{PasswordPolicy, ServiceStatus};
use futures_util::future::join_all;
use persistence::Database;
use persistence::service::{NewService, ServiceRecord};
use reqwest::{Method, StatusCode};
use sea_orm::prelude::{ChronoDate, DateTimeUtc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};
use tests::{Reply, TestApp, both_databases};
use uuid::Uuid;

/// How a temporary password is stored (api::auth::passwords).
const TEMPORARY_HASH: &str = "$attiva-tmp-sha256$";

/// What the panel user chooses at the first login.
const CHOSEN: &str = "la mia nuova password del pannello";
const OPERATOR_PASSWORD: &str = "a long operator password";
const FOURTEEN_DAYS: Duration = Duration::from_secs(14 * 24 * 3600);

/// A customer (signed up through the API) owning an FE service — the
/// service stored directly: see the module comment.
async fn arrange_service(app: &TestApp, store: &Database, tax_id: &str) -> ServiceRecord {
    let holder = if tax_id.len() == 11 {
        company(tax_id)
    } else {
        person(tax_id)
    };
    let email = format!("holder-{}@example.com", tax_id.to_lowercase());
    let account = app.sign_up(&email, PASSWORD, &holder).await;
    let customer_id = account["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("no customer id: {account}"));
    store
        .services()
        .insert_service(&NewService {
            id: Uuid::new_v4(),
            customer_id,
            product_code: "fe".into(),
            status: ServiceStatus::AwaitingConfiguration,
            holder_tax_id: tax_id.to_owned(),
            codice_destinatario: "KRRH6B9".into(),
            expires_on: ChronoDate::from_ymd_opt(2030, 12, 31).unwrap_or_else(|| panic!("date")),
        })
        .await
        .unwrap_or_else(|e| panic!("storing the service: {e}"))
}

async fn issue(store: &Database, service: &ServiceRecord, ttl: Duration) -> IssuedCredentials {
    issue_panel_credentials(store, service, ttl)
        .await
        .unwrap_or_else(|e| panic!("issuing panel credentials: {e}"))
}

/// Asserts the answer to a login with a temporary password: a token good
/// only for the password change, and no refresh token; returns the token.
fn assert_restricted(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["password_change_required"], true,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["audience"], "panel", "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer", "{}", reply.text);
    assert!(
        reply.body.get("refresh_token").is_none(),
        "no session yet: {}",
        reply.text
    );
    assert_no_store(reply);
    reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A panel user past the first login: (username, access, refresh).
async fn activated(
    app: &TestApp,
    store: &Database,
    tax_id: &str,
) -> (ServiceRecord, String, String, String) {
    let service = arrange_service(app, store, tax_id).await;
    let issued = issue(store, &service, FOURTEEN_DAYS).await;
    let token = assert_restricted(
        &app.panel_login(&issued.username, &issued.temporary_password)
            .await,
    );
    let changed = app
        .change_panel_password(&token, &issued.temporary_password, CHOSEN, CHOSEN)
        .await;
    let (access, refresh_token) = assert_session(&changed, "panel");
    (service, issued.username, access, refresh_token)
}

/// Creates an operator as `attiva operator create` does, and logs in.
async fn operator_token(app: &TestApp, username: &str) -> String {
    let reply = app.operator_login(username, OPERATOR_PASSWORD).await;
    assert_session(&reply, "backoffice").0
}

async fn reissue(app: &TestApp, token: Option<&str>, service_id: &str) -> Reply {
    let mut request = app.request(
        Method::POST,
        &format!("/v1/backoffice/services/{service_id}/credentials/reissue"),
    );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

fn now() -> DateTimeUtc {
    DateTimeUtc::from(SystemTime::now())
}

fn timestamp(value: &Value) -> DateTimeUtc {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 timestamp: {value}"))
}

/// Asserts that `at` is `ttl` from now, give or take a minute.
fn assert_expires_in(at: DateTimeUtc, ttl: Duration) {
    let expected = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let actual = (at - now()).num_seconds();
    assert!(
        (actual - expected).abs() <= 60,
        "expires at {at}: in {actual} s, expected {expected} s"
    );
}

/// Every documented panel operation, with its path parameters filled in.
async fn panel_operations(app: &TestApp) -> Vec<(Method, String)> {
    let document = app.get("/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK, "{}", document.text);
    let paths = document.body["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths in the document"));
    let mut operations = Vec::new();
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1/panel/")) {
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    Uuid::new_v4().to_string()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if item.get(name).is_some() {
                operations.push((method, concrete.clone()));
            }
        }
    }
    operations
}

async fn call(app: &TestApp, method: &Method, path: &str, token: &str) -> Reply {
    let mut request = app.request(method.clone(), path).bearer_auth(token);
    if *method != Method::GET && *method != Method::DELETE {
        request = request.json(&json!({}));
    }
    app.send(request).await
}

// --- panel credentials ---------------------------------------------------

both_databases!(
    panel_credentials_take_the_username_from_the_tax_id_and_store_only_a_hash,
    |app| async move {
        let store = app.store().await;
        let company_service = arrange_service(app, &store, "00743110157").await;
        let issued = issue(&store, &company_service, FOURTEEN_DAYS).await;
        assert_eq!(issued.username, "fe-00743110157");
        assert!(
            PasswordPolicy::new()
                .check(&issued.temporary_password)
                .is_ok(),
            "the temporary password meets the policy"
        );
        assert!(
            !format!("{issued:?}").contains(&issued.temporary_password),
            "Debug redacts it"
        );
        assert_expires_in(issued.expires_at, FOURTEEN_DAYS);

        let stored = store
            .panel_users()
            .find_panel_user_by_username("fe-00743110157")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no panel user stored"));
        assert_eq!(stored.service_id, company_service.id);
        assert!(stored.must_change_password);
        // Server-drawn and high-entropy: a salted SHA-256, not argon2id
        // (see api::auth::passwords); the password itself is not stored.
        assert!(
            stored.password_hash.starts_with(TEMPORARY_HASH),
            "{}",
            stored.password_hash
        );
        assert!(!stored.password_hash.contains(&issued.temporary_password));
        let stored_expiry = stored
            .temporary_password_expires_at
            .unwrap_or_else(|| panic!("no expiry stored"));
        assert!((stored_expiry - issued.expires_at).num_seconds().abs() <= 1);

        // A persona fisica is known by the codice fiscale; the username is
        // matched whatever its case.
        let person_service = arrange_service(app, &store, "RSSMRA85T10A562S").await;
        let other = issue(&store, &person_service, FOURTEEN_DAYS).await;
        assert_eq!(other.username, "fe-rssmra85t10a562s");
        assert_ne!(
            other.temporary_password, issued.temporary_password,
            "random, not derived"
        );
        assert_restricted(
            &app.panel_login("FE-RSSMRA85T10A562S", &other.temporary_password)
                .await,
        );
        store.close().await;
    }
);

both_databases!(
    a_temporary_password_only_opens_the_password_change,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let issued = issue(&store, &service, FOURTEEN_DAYS).await;
        let reply = app
            .panel_login(&issued.username, &issued.temporary_password)
            .await;
        let token = assert_restricted(&reply);
        let (_, claims) = verified(&token, "panel");
        assert_eq!(claims["typ"], "password_change", "{claims}");
        assert_eq!(claims["aud"], "panel", "{claims}");

        let operations = panel_operations(app).await;
        assert!(
            operations.contains(&(Method::GET, "/v1/panel/status".to_owned())),
            "{operations:?}"
        );
        for (method, path) in operations
            .iter()
            .filter(|(m, p)| !(*m == Method::POST && p == "/v1/panel/password"))
        {
            let reply = call(app, method, path, &token).await;
            assert_rfc9457(&reply, 403, "password_change_required");
            assert_eq!(
                reply.body["code"], "password_change_required",
                "{method} {path}"
            );
        }
        // Nor does it open the other areas.
        let reply = app.get_as("/v1/customers/me", &token).await;
        assert_rfc9457(&reply, 403, "wrong_audience");
        let reply = reissue(app, Some(&token), &service.id.to_string()).await;
        assert_rfc9457(&reply, 403, "wrong_audience");

        // The one call it allows.
        let reply = app
            .change_panel_password(&token, &issued.temporary_password, CHOSEN, CHOSEN)
            .await;
        assert_session(&reply, "panel");
        store.close().await;
    }
);

both_databases!(
    changing_the_temporary_password_opens_the_panel_and_retires_the_temporary_one,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "12345678903").await;
        let issued = issue(&store, &service, FOURTEEN_DAYS).await;
        let token = assert_restricted(
            &app.panel_login(&issued.username, &issued.temporary_password)
                .await,
        );

        let changed = app
            .change_panel_password(&token, &issued.temporary_password, CHOSEN, CHOSEN)
            .await;
        let (access, refresh_token) = assert_session(&changed, "panel");
        assert_security_headers(&changed, "password change");
        let status = app.get_as("/v1/panel/status", &access).await;
        assert_eq!(status.status, StatusCode::OK, "{}", status.text);
        assert_eq!(status.body["service_id"], service.id.to_string());
        assert_eq!(status.body["username"], "fe-12345678903");
        assert_eq!(status.body["status"], "awaiting_configuration");
        assert_eq!(status.body["codice_destinatario"], "KRRH6B9");

        // The restricted token and the temporary password are spent.
        let again = app
            .change_panel_password(
                &token,
                &issued.temporary_password,
                "yet another password",
                "yet another password",
            )
            .await;
        assert_bearer_challenge(&again, "invalid_token");
        let reply = app
            .panel_login(&issued.username, &issued.temporary_password)
            .await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
        // The chosen one opens a full session at once, and it refreshes.
        let (_, refresh_after_login) =
            assert_session(&app.panel_login(&issued.username, CHOSEN).await, "panel");
        for token in [refresh_token, refresh_after_login] {
            let (access, _) = assert_session(&refresh(app, &token).await, "panel");
            let status = app.get_as("/v1/panel/status", &access).await;
            assert_eq!(status.status, StatusCode::OK, "{}", status.text);
        }
        let stored = store
            .panel_users()
            .find_panel_user(
                store
                    .panel_users()
                    .find_panel_user_by_username("fe-12345678903")
                    .await
                    .ok()
                    .flatten()
                    .map(|u| u.id)
                    .unwrap_or_default(),
            )
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no panel user"));
        assert!(!stored.must_change_password);
        assert_eq!(stored.temporary_password_expires_at, None);
        assert!(stored.password_hash.starts_with(ARGON2ID_OWASP));
        store.close().await;
    }
);

both_databases!(
    the_new_password_must_meet_the_policy_and_differ_from_the_temporary_one,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "00488410010").await;
        let issued = issue(&store, &service, FOURTEEN_DAYS).await;
        let temporary = issued.temporary_password.as_str();
        let token = assert_restricted(&app.panel_login(&issued.username, temporary).await);

        let too_long = "z".repeat(129);
        let cases = [
            (temporary, temporary, "/new_password", "password_unchanged"),
            (
                CHOSEN,
                "la mia nuova password del pannellO",
                "/new_password_confirmation",
                "confirmation_mismatch",
            ),
            (
                "short one",
                "short one",
                "/new_password",
                "password_too_short",
            ),
            (
                too_long.as_str(),
                too_long.as_str(),
                "/new_password",
                "password_too_long",
            ),
            (
                "password1234",
                "password1234",
                "/new_password",
                "password_too_common",
            ),
        ];
        for (new, confirmation, pointer, code) in cases {
            let reply = app
                .change_panel_password(&token, temporary, new, confirmation)
                .await;
            assert_invalid_field(&reply, pointer, code);
        }
        let reply = app
            .change_panel_password(&token, "not the temporary password", CHOSEN, CHOSEN)
            .await;
        assert_rfc9457(&reply, 403, "invalid_current_password");
        let reply = app.post_as("/v1/panel/password",
            &token,
            &json!({"current_password": temporary, "new_password": CHOSEN, "new_password_confirmation": CHOSEN, "must_change_password": false}),
        )
        .await;
        assert_invalid_field(&reply, "/must_change_password", "unknown_field");

        // Nothing changed: the same token still may, and must, change it.
        let reply = app.get_as("/v1/panel/status", &token).await;
        assert_rfc9457(&reply, 403, "password_change_required");
        assert_session(
            &app.change_panel_password(&token, temporary, CHOSEN, CHOSEN)
                .await,
            "panel",
        );
        store.close().await;
    }
);

both_databases!(
    an_expired_temporary_password_answers_temporary_password_expired,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "07643520567").await;
        // A zero lifetime: expired the moment it is issued.
        let issued = issue(&store, &service, Duration::ZERO).await;
        let reply = app
            .panel_login(&issued.username, &issued.temporary_password)
            .await;
        assert_rfc9457(&reply, 401, "temporary_password_expired");
        assert!(reply.body.get("access_token").is_none(), "{}", reply.text);
        assert_no_store(&reply);
        // Only the right password learns that it expired.
        let reply = app
            .panel_login(&issued.username, "a wrong guess of it")
            .await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
        store.close().await;
    }
);

both_databases!(
    a_temporary_password_that_expired_after_the_login_no_longer_changes_the_password,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let issued = issue(&store, &service, Duration::from_secs(5)).await;
        let token = assert_restricted(
            &app.panel_login(&issued.username, &issued.temporary_password)
                .await,
        );
        // Poll (no fixed wait) until the login says the password expired.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let reply = app
                .panel_login(&issued.username, &issued.temporary_password)
                .await;
            if reply.status == StatusCode::UNAUTHORIZED {
                assert_rfc9457(&reply, 401, "temporary_password_expired");
                break;
            }
            assert_restricted(&reply);
            assert!(tokio::time::Instant::now() < deadline, "never expired");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The token it gave earlier must not turn the expired password
        // into a permanent one.
        let reply = app
            .change_panel_password(&token, &issued.temporary_password, CHOSEN, CHOSEN)
            .await;
        assert_rfc9457(&reply, 401, "temporary_password_expired");
        let reply = app.panel_login(&issued.username, CHOSEN).await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
        store.close().await;
    }
);

// --- reissue -------------------------------------------------------------

both_databases!(
    a_reissue_retires_the_previous_temporary_password,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let first = issue(&store, &service, FOURTEEN_DAYS).await;
        let second = issue(&store, &service, FOURTEEN_DAYS).await;
        assert_eq!(second.username, first.username, "the username stays");
        assert_ne!(second.temporary_password, first.temporary_password);
        let reply = app
            .panel_login(&first.username, &first.temporary_password)
            .await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
        assert_restricted(
            &app.panel_login(&second.username, &second.temporary_password)
                .await,
        );

        // Through the back office: the operator never sees the password.
        let operator = operator_token(app, "alice").await;
        let reply = reissue(app, Some(&operator), &service.id.to_string()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_no_store(&reply);
        let fields: BTreeSet<&str> = reply
            .body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            BTreeSet::from(["service_id", "username", "temporary_password_expires_at"]),
            "{}",
            reply.text
        );
        assert_eq!(reply.body["service_id"], service.id.to_string());
        assert_eq!(reply.body["username"], "fe-01234567897");
        let reply = app
            .panel_login(&second.username, &second.temporary_password)
            .await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
        let stored = store
            .panel_users()
            .find_panel_user_by_service(service.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no panel user"));
        assert!(stored.must_change_password);
        assert_eq!(stored.credentials_version, 3, "issued, reissued, reissued");
        store.close().await;
    }
);

both_databases!(a_reissue_ends_the_panel_users_sessions, |app| async move {
    let store = app.store().await;
    let (service, username, access, refresh_token) = activated(app, &store, "00743110157").await;
    let operator = operator_token(app, "bob").await;
    let reply = reissue(app, Some(&operator), &service.id.to_string()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    assert_bearer_challenge(
        &app.get_as("/v1/panel/status", &access).await,
        "invalid_token",
    );
    let reply = refresh(app, &refresh_token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    let reply = app.panel_login(&username, CHOSEN).await;
    assert_rfc9457(&reply, 401, "invalid_credentials");
    store.close().await;
});

both_databases!(
    the_temporary_password_lives_14_days_by_default,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let operator = operator_token(app, "carol").await;
        let reply = reissue(app, Some(&operator), &service.id.to_string()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let at = timestamp(&reply.body["temporary_password_expires_at"]);
        assert_expires_in(at, FOURTEEN_DAYS);
        let stored = store
            .panel_users()
            .find_panel_user_by_service(service.id)
            .await
            .ok()
            .flatten()
            .and_then(|u| u.temporary_password_expires_at)
            .unwrap_or_else(|| panic!("no expiry stored"));
        assert!((stored - at).num_seconds().abs() <= 1, "{stored} vs {at}");
        store.close().await;
    }
);

both_databases!(
    the_temporary_password_lifetime_is_a_setting,
    [("ATTIVA_TEMP_PASSWORD_TTL_HOURS", "1")],
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let operator = operator_token(app, "dave").await;
        let reply = reissue(app, Some(&operator), &service.id.to_string()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_expires_in(
            timestamp(&reply.body["temporary_password_expires_at"]),
            Duration::from_secs(3600),
        );
        store.close().await;
    }
);

both_databases!(
    a_reissue_for_a_service_that_does_not_exist_is_a_404,
    |app| async move {
        let operator = operator_token(app, "erin").await;
        let missing = Uuid::new_v4().to_string();
        let reply = reissue(app, Some(&operator), &missing).await;
        let body = assert_rfc9457(&reply, 404, "service_not_found");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&missing)),
            "{}",
            reply.text
        );
        let reply = reissue(app, Some(&operator), "not-a-uuid").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    }
);

// --- operators -----------------------------------------------------------

both_databases!(
    operators_created_from_the_command_line_log_in_to_the_back_office,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let id = api::backoffice::operators::create(&app.settings(), "Alice", OPERATOR_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        for username in ["alice", "ALICE", " alice "] {
            let reply = app
                .post_json(
                    "/v1/backoffice/login",
                    &json!({"username": username, "password": OPERATOR_PASSWORD}),
                )
                .await;
            let (access, _) = assert_session(&reply, "backoffice");
            let (_, claims) = verified(&access, "backoffice");
            assert_eq!(claims["sub"], id.to_string(), "{claims}");
            assert_eq!(claims["typ"], "access", "{claims}");
        }
        let store = app.store().await;
        let stored = store
            .operators()
            .find_operator_by_username("alice")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no operator stored"));
        assert_eq!(stored.id, id);
        assert!(
            stored.password_hash.starts_with(ARGON2ID_OWASP),
            "{}",
            stored.password_hash
        );

        let wrong = app
            .post_json(
                "/v1/backoffice/login",
                &json!({"username": "alice", "password": "not it at all"}),
            )
            .await;
        let unknown = app
            .post_json(
                "/v1/backoffice/login",
                &json!({"username": "mallory", "password": "not it at all"}),
            )
            .await;
        assert_rfc9457(&wrong, 401, "invalid_credentials");
        assert_rfc9457(&unknown, 401, "invalid_credentials");
        assert_eq!(wrong.body, unknown.body);
        store.close().await;
    }
);

both_databases!(
    the_operator_command_refuses_weak_passwords_bad_names_and_duplicates,
    |app| async move {
        let settings = app.settings();
        api::backoffice::operators::create(&settings, "alice", OPERATOR_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let cases = [
            ("alice", "another long password", "already exists"),
            ("ALICE", "another long password", "already exists"),
            ("bruno", "password1234", "password refused"),
            ("bruno", "too short", "password refused"),
            ("operator.username", "Operator.Username", "password refused"),
            ("bad name", OPERATOR_PASSWORD, "username"),
            ("", OPERATOR_PASSWORD, "username"),
            ("ünïcode", OPERATOR_PASSWORD, "username"),
        ];
        for (username, password, message) in cases {
            let error = api::backoffice::operators::create(&settings, username, password)
                .await
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_else(|| panic!("operator {username:?} / {password:?} was created"));
            assert!(error.contains(message), "{username:?}: {error}");
            assert!(!error.contains(password), "the password is echoed: {error}");
        }
        let store = app.store().await;
        for username in ["bruno", "operator.username", "bad name"] {
            let found = store
                .operators()
                .find_operator_by_username(username)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(found.is_none(), "{username} was stored");
        }
        store.close().await;
    }
);

both_databases!(
    each_area_refuses_the_tokens_of_the_others,
    |app| async move {
        let store = app.store().await;
        let (service, _, panel, _) = activated(app, &store, "01234567897").await;
        let (_, customer, _) = customer_session(app, "customer@example.com", "00743110157").await;
        let operator = operator_token(app, "frank").await;
        let service_id = service.id.to_string();

        // Customer area: panel and operator tokens are refused.
        for token in [&panel, &operator] {
            let reply = app.get_as("/v1/customers/me", token).await;
            assert_rfc9457(&reply, 403, "wrong_audience");
        }
        // Panel: customer and operator tokens are refused, on every operation.
        for (method, path) in panel_operations(app).await {
            for token in [&customer, &operator] {
                let reply = call(app, &method, &path, token).await;
                assert_rfc9457(&reply, 403, "wrong_audience");
            }
        }
        // Back office: customers and panel users get 403, strangers 401.
        for token in [&customer, &panel] {
            let reply = reissue(app, Some(token), &service_id).await;
            assert_rfc9457(&reply, 403, "wrong_audience");
        }
        assert_bearer_challenge(
            &reissue(app, None, &service_id).await,
            "authentication_required",
        );
        // None of that touched the panel user; the operator's call works.
        let reply = app.get_as("/v1/panel/status", &panel).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let reply = reissue(app, Some(&operator), &service_id).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        store.close().await;
    }
);

// --- sessions ------------------------------------------------------------

both_databases!(
    a_password_change_ends_the_users_other_sessions,
    |app| async move {
        let store = app.store().await;
        let (_, username, first_access, first_refresh) =
            activated(app, &store, "01234567897").await;
        let (second_access, second_refresh) =
            assert_session(&app.panel_login(&username, CHOSEN).await, "panel");

        let newer = "una password ancora piu nuova";
        let reply = app
            .change_panel_password(&second_access, CHOSEN, newer, newer)
            .await;
        let (third_access, third_refresh) = assert_session(&reply, "panel");

        for access in [&first_access, &second_access] {
            assert_bearer_challenge(
                &app.get_as("/v1/panel/status", access).await,
                "invalid_token",
            );
        }
        for token in [&first_refresh, &second_refresh] {
            let reply = refresh(app, token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        }
        let reply = app.get_as("/v1/panel/status", &third_access).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_session(&refresh(app, &third_refresh).await, "panel");
        assert_rfc9457(
            &app.panel_login(&username, CHOSEN).await,
            401,
            "invalid_credentials",
        );
        assert_session(&app.panel_login(&username, newer).await, "panel");
        store.close().await;
    }
);

both_databases!(
    panel_and_back_office_logins_are_throttled_too,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let issued = issue(&store, &service, FOURTEEN_DAYS).await;
        let panel_login_from = |octet: u8, username: &str, password: &str| {
            let body = json!({"username": username, "password": password});
            async move { post_from(app, &client_at(octet), "/v1/auth/panel/login", &body).await }
        };
        // A panel user: five failures, then even the right password waits,
        // from that address; the owner, from its own, logs in (the
        // username is derived from a public tax id: anyone can try it).
        for _ in 0..5 {
            let reply = panel_login_from(50, &issued.username, "guess guess guess").await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &panel_login_from(50, &issued.username, &issued.temporary_password).await,
            900,
        );
        let reply = panel_login_from(51, &issued.username, &issued.temporary_password).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.body["password_change_required"], true,
            "{}",
            reply.text
        );
        // An unknown panel user gets the same answers.
        for _ in 0..5 {
            let reply = panel_login_from(52, "fe-99999999999", "guess guess guess").await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &panel_login_from(52, "fe-99999999999", "guess guess guess").await,
            900,
        );

        // The back office: five failures from one address for one operator
        // block that operator there, not the others.
        api::backoffice::operators::create(&app.settings(), "grace", OPERATOR_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let operator_login_from = |octet: u8, username: &str, password: &str| {
            let body = json!({"username": username, "password": password});
            async move { post_from(app, &client_at(octet), "/v1/backoffice/login", &body).await }
        };
        for _ in 0..5 {
            let reply = operator_login_from(53, "mallory", "guess guess guess").await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &operator_login_from(53, "mallory", OPERATOR_PASSWORD).await,
            900,
        );
        assert_session(
            &operator_login_from(53, "grace", OPERATOR_PASSWORD).await,
            "backoffice",
        );
        assert_session(
            &operator_login_from(54, "grace", OPERATOR_PASSWORD).await,
            "backoffice",
        );

        // Each area counts its own failures: the customer area is open from .50.
        app.sign_up("unaffected@example.com", PASSWORD, &company("00743110157"))
            .await;
        let reply = post_from(
            app,
            &client_at(50),
            "/v1/auth/customer/login",
            &json!({"email": "unaffected@example.com", "password": PASSWORD}),
        )
        .await;
        assert_session(&reply, "customer_area");
        store.close().await;
    }
);

both_databases!(
    panel_and_back_office_logins_hold_their_limit_under_concurrency,
    |app| async move {
        let store = app.store().await;
        let service = arrange_service(app, &store, "01234567897").await;
        let issued = issue(&store, &service, FOURTEEN_DAYS).await;
        api::backoffice::operators::create(&app.settings(), "grace", OPERATOR_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let attacker = client_at(60);
        for (path, username, password) in [
            (
                "/v1/auth/panel/login",
                issued.username.as_str(),
                issued.temporary_password.as_str(),
            ),
            ("/v1/backoffice/login", "grace", OPERATOR_PASSWORD),
        ] {
            let guess = json!({"username": username, "password": "guess guess guess"});
            let replies = join_all((0..50).map(|_| post_from(app, &attacker, path, &guess))).await;
            assert_at_most_verified(&replies, 5);
            // The owner, from its own address, still logs in.
            let right = json!({"username": username, "password": password});
            let reply = post_from(app, &client_at(61), path, &right).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        }
        store.close().await;
    }
);
