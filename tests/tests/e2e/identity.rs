//! Who a caller is, in the customer area: sign-up with the holder's data
//! (tax ids checked with their check digits), the password policy, login,
//! `GET /v1/customers/me`, access tokens that only their own audience
//! accepts, refresh tokens rotated on every use and revoked as a family on
//! reuse, logout, brute-force throttling, and the headers that keep tokens
//! out of caches and frames.
//!
//! The token attacks forge JWTs with the key the test server is given
//! (`ATTIVA_JWT_SECRET`); each attack has a control — the same claims,
//! honestly signed, are accepted — so a refusal means the attack failed,
//! not the forging.

use crate::errors::{assert_invalid_field, assert_rfc9457};
use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tests::story::{address, unix_now};
use tests::{Reply, TestApp, both_databases};

/// The HS256 key the token-attack scenarios give the server (64 bytes).
pub(crate) const SECRET: &str = "attiva-e2e-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123";

/// A password that meets the policy.
pub(crate) const PASSWORD: &str = "una frase lunga e segreta";

/// The argon2id parameters OWASP recommends: m = 19 MiB, t = 2, p = 1.
pub(crate) const ARGON2ID_OWASP: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// A persona giuridica whose Codice Fiscale is its Partita IVA.
pub(crate) fn company(partita_iva: &str) -> Value {
    json!({
        "kind": "persona_giuridica",
        "denominazione": "Alfa S.r.l.",
        "codice_fiscale": partita_iva,
        "partita_iva": partita_iva,
        "address": address(),
        "phone": "+39 02 1234567"
    })
}

/// A persona fisica, with no Partita IVA.
pub(crate) fn person(codice_fiscale: &str) -> Value {
    json!({
        "kind": "persona_fisica",
        "nome": "Mario",
        "cognome": "Rossi",
        "codice_fiscale": codice_fiscale,
        "address": address()
    })
}

pub(crate) async fn refresh(app: &TestApp, refresh_token: &str) -> Reply {
    app.post_json("/v1/auth/refresh", &json!({"refresh_token": refresh_token}))
        .await
}

/// Asserts that a response may not be kept by any cache.
pub(crate) fn assert_no_store(reply: &Reply) {
    assert!(
        reply
            .header("cache-control")
            .is_some_and(|v| v.contains("no-store")),
        "Cache-Control is {:?}; body: {}",
        reply.header("cache-control"),
        reply.text
    );
}

/// Asserts the headers every response carries.
pub(crate) fn assert_security_headers(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(
        reply
            .header("content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'")),
        "{what}: Content-Security-Policy is {:?}",
        reply.header("content-security-policy")
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(
        reply.header("x-request-id").is_some_and(|v| !v.is_empty()),
        "{what}: no request id"
    );
}

/// Asserts a 401 problem that tells the client to send a bearer token.
pub(crate) fn assert_bearer_challenge(reply: &Reply, code: &str) {
    assert_rfc9457(reply, 401, code);
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "WWW-Authenticate is {:?}; body: {}",
        reply.header("www-authenticate"),
        reply.text
    );
}

/// Asserts a login (or refresh, or password change) that opened a full
/// session of `audience`; returns (access token, refresh token).
pub(crate) fn assert_session(reply: &Reply, audience: &str) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer", "{}", reply.text);
    assert_eq!(reply.body["audience"], audience, "{}", reply.text);
    assert_eq!(
        reply.body["password_change_required"], false,
        "{}",
        reply.text
    );
    assert!(
        reply.body["expires_in"].as_u64().is_some_and(|s| s > 0),
        "{}",
        reply.text
    );
    assert_no_store(reply);
    let access = reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = reply.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(access.split('.').count(), 3, "not a JWT: {}", reply.text);
    assert!(refresh.len() >= 32, "no refresh token: {}", reply.text);
    (access, refresh)
}

/// Signs up and logs in; returns (customer id, access token, refresh token).
pub(crate) async fn customer_session(
    app: &TestApp,
    email: &str,
    partita_iva: &str,
) -> (String, String, String) {
    let account = app.sign_up(email, PASSWORD, &company(partita_iva)).await;
    let (access, refresh) =
        assert_session(&app.customer_login(email, PASSWORD).await, "customer_area");
    (
        account["id"].as_str().unwrap_or_default().to_owned(),
        access,
        refresh,
    )
}

/// Verifies a token the server issued with the key it was given; returns
/// its header and claims.
pub(crate) fn verified(token: &str, audience: &str) -> (Header, Value) {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["attiva"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap_or_else(|e| panic!("the server's token does not verify as {audience}: {e}"));
    (data.header, data.claims)
}

/// Claims the server would put in a customer access token.
fn customer_claims(subject: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": "attiva",
        "aud": "customer_area",
        "sub": subject,
        "iat": now,
        "exp": now + 600,
        "jti": uuid::Uuid::new_v4().to_string(),
        "typ": "access"
    })
}

fn sign(claims: &Value, algorithm: Algorithm, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("forging a token: {e}"))
}

/// Base64url without padding (RFC 7515), for hand-made tokens.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// A client whose requests come from another loopback address, so that
/// the per-address throttle of one scenario step does not spill into the
/// next.
pub(crate) fn client_at(last_octet: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .build()
        .unwrap_or_else(|e| panic!("client bound to 127.0.0.{last_octet}: {e}"))
}

/// `POST` of a JSON body from the given client (and so its address).
pub(crate) async fn post_from(app: &TestApp, client: &Client, path: &str, body: &Value) -> Reply {
    app.send(client.post(format!("{}{path}", app.address)).json(body))
        .await
}

async fn login_from(app: &TestApp, client: &Client, email: &str, password: &str) -> Reply {
    post_from(
        app,
        client,
        "/v1/auth/customer/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no numeric Retry-After: {:?}; {}",
                reply.headers, reply.text
            )
        })
}

/// Asserts a 429 `too_many_attempts` with a Retry-After within the window.
pub(crate) fn assert_throttled(reply: &Reply, window_secs: u64) -> u64 {
    assert_rfc9457(reply, 429, "too_many_attempts");
    assert_no_store(reply);
    let seconds = retry_after(reply);
    assert!(
        (1..=window_secs).contains(&seconds),
        "Retry-After {seconds} outside 1..={window_secs}"
    );
    assert!(reply.body.get("access_token").is_none(), "{}", reply.text);
    seconds
}

/// Of guesses sent together, at most `limit` may have had their password
/// verified (401 or 200); every other one must be refused unverified (429).
pub(crate) fn assert_at_most_verified(replies: &[Reply], limit: usize) {
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    let verified = statuses.iter().filter(|s| [200, 401].contains(*s)).count();
    assert!(
        (1..=limit).contains(&verified),
        "{verified} of {} guesses sent together were verified, limit {limit}: {statuses:?}",
        replies.len()
    );
    for reply in replies
        .iter()
        .filter(|r| ![200, 401].contains(&r.status.as_u16()))
    {
        assert_throttled(reply, 900);
    }
}

/// A login to the customer area from `client` with forwarding headers.
async fn login_forwarded(
    app: &TestApp,
    client: &Client,
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
) -> Reply {
    let mut request = client
        .post(format!("{}/v1/auth/customer/login", app.address))
        .json(&json!({"email": email, "password": password}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

// --- sign-up -------------------------------------------------------------

both_databases!(
    a_company_signs_up_and_me_shows_its_account,
    |app| async move {
        let reply = app
        .post_json(
            "/v1/customers",
            &json!({"email": "Amministrazione@Alfa.example", "password": PASSWORD, "holder": company("01234567897")}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.header("location"), Some("/v1/customers/me"));
        assert_no_store(&reply);
        let account = reply.body.clone();
        assert!(
            account["id"]
                .as_str()
                .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
            "{account}"
        );
        assert_eq!(account["email"], "Amministrazione@Alfa.example");
        let mut holder = company("01234567897");
        holder["nome"] = Value::Null;
        holder["cognome"] = Value::Null;
        assert_eq!(account["holder"], holder, "{account}");
        assert!(account["created_at"].as_str().is_some(), "{account}");
        assert_eq!(
            keys(&account),
            BTreeSet::from(["created_at", "email", "holder", "id"].map(String::from)),
            "nothing about the password is ever returned: {account}"
        );

        let (access, _) = assert_session(
            &app.customer_login("amministrazione@alfa.example", PASSWORD)
                .await,
            "customer_area",
        );
        let me = app.get_as("/v1/customers/me", &access).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_no_store(&me);
        assert_eq!(me.body, account, "me is the account sign-up created");
    }
);

both_databases!(
    a_person_signs_up_with_nome_cognome_and_codice_fiscale_only,
    |app| async move {
        let account = app
            .sign_up(
                "mario.rossi@example.com",
                PASSWORD,
                &person("rssmra85t10a562s"),
            )
            .await;
        let holder = &account["holder"];
        assert_eq!(holder["kind"], "persona_fisica", "{account}");
        assert_eq!(holder["nome"], "Mario", "{account}");
        assert_eq!(holder["cognome"], "Rossi", "{account}");
        assert_eq!(
            holder["codice_fiscale"], "RSSMRA85T10A562S",
            "stored upper-case: {account}"
        );
        assert_eq!(holder["partita_iva"], Value::Null, "{account}");
        assert_eq!(holder["denominazione"], Value::Null, "{account}");
    }
);

both_databases!(
    stored_passwords_are_argon2id_hashes_with_owasp_parameters,
    |app| async move {
        app.sign_up("hash@example.com", PASSWORD, &company("00743110157"))
            .await;
        let store = app.store().await;
        let stored = store
            .customers()
            .find_customer_by_email("hash@example.com")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the account was not stored"));
        assert!(
            stored.password_hash.starts_with(ARGON2ID_OWASP),
            "not argon2id m=19456,t=2,p=1: {}",
            stored.password_hash
        );
        assert!(!stored.password_hash.contains(PASSWORD));
        store.close().await;
    }
);

both_databases!(an_email_is_taken_whatever_its_case, |app| async move {
    app.sign_up("Mario.Rossi@Example.COM", PASSWORD, &company("01234567897"))
        .await;
    for email in ["mario.rossi@example.com", "MARIO.ROSSI@EXAMPLE.COM"] {
        let reply = app
            .post_json(
                "/v1/customers",
                &json!({"email": email, "password": PASSWORD, "holder": company("00743110157")}),
            )
            .await;
        assert_rfc9457(&reply, 409, "email_taken");
    }
    // Any case logs in to the one account.
    assert_session(
        &app.customer_login("mario.ROSSI@example.com", PASSWORD)
            .await,
        "customer_area",
    );
});

both_databases!(
    concurrent_sign_ups_with_one_email_create_one_account,
    |app| async move {
        let emails = [
            "race@example.com",
            "RACE@example.com",
            "Race@Example.com",
            "race@EXAMPLE.COM",
        ];
        let replies = join_all(emails.iter().map(|email| async move {
            app.post_json(
                "/v1/customers",
                &json!({"email": email, "password": PASSWORD, "holder": company("01234567897")}),
            )
            .await
        }))
        .await;
        let created = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{replies:#?}");
        for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_rfc9457(reply, 409, "email_taken");
        }
    }
);

both_databases!(
    tax_ids_are_checked_with_their_check_digits,
    |app| async move {
        let mut bad_piva = company("01234567897");
        bad_piva["partita_iva"] = json!("01234567890");
        let mut prefixed_piva = company("01234567897");
        prefixed_piva["partita_iva"] = json!("IT01234567897");
        let mut bad_numeric_cf = company("01234567897");
        bad_numeric_cf["codice_fiscale"] = json!("01234567898");
        let mut no_piva = company("01234567897");
        no_piva["partita_iva"] = Value::Null;
        let mut no_denominazione = company("01234567897");
        no_denominazione["denominazione"] = Value::Null;
        let mut no_cognome = person("RSSMRA85T10A562S");
        no_cognome["cognome"] = Value::Null;
        let mut short_cap = company("01234567897");
        short_cap["address"]["cap"] = json!("201");
        let cases = [
            (bad_piva, "/holder/partita_iva", "invalid_partita_iva"),
            // 13 characters: refused by the documented length (11) already.
            (prefixed_piva, "/holder/partita_iva", "invalid_length"),
            (
                bad_numeric_cf,
                "/holder/codice_fiscale",
                "invalid_codice_fiscale",
            ),
            (
                person("RSSMRA85T10A562T"),
                "/holder/codice_fiscale",
                "invalid_codice_fiscale",
            ),
            (
                person("RSSMRA85T10A56"),
                "/holder/codice_fiscale",
                "invalid_codice_fiscale",
            ),
            (no_piva, "/holder/partita_iva", "required"),
            (no_denominazione, "/holder/denominazione", "required"),
            (no_cognome, "/holder/cognome", "required"),
            (short_cap, "/holder/address/cap", "invalid_cap"),
        ];
        for (holder, pointer, code) in cases {
            let reply = app
            .post_json(
                "/v1/customers",
                &json!({"email": "checked@example.com", "password": PASSWORD, "holder": holder}),
            )
            .await;
            assert_invalid_field(&reply, pointer, code);
            assert_eq!(
                reply.body["errors"].as_array().map(Vec::len),
                Some(1),
                "only {pointer} is wrong: {}",
                reply.text
            );
        }
        // Nothing was stored: the address is still free.
        app.sign_up("checked@example.com", PASSWORD, &company("01234567897"))
            .await;
    }
);

both_databases!(
    every_invalid_field_of_a_sign_up_is_reported_at_once,
    |app| async move {
        let mut holder = company("01234567890");
        holder["codice_fiscale"] = json!("RSSMRA85T10A562T");
        let reply = app
            .post_json(
                "/v1/customers",
                &json!({"email": "not-an-email", "password": "short", "holder": holder}),
            )
            .await;
        let body = assert_rfc9457(&reply, 422, "validation_failed");
        let found: BTreeSet<(String, String)> = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors: {}", reply.text))
            .iter()
            .map(|e| {
                (
                    e["pointer"].as_str().unwrap_or_default().to_owned(),
                    e["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String)> = [
            ("/email", "invalid_email"),
            ("/password", "password_too_short"),
            ("/holder/codice_fiscale", "invalid_codice_fiscale"),
            ("/holder/partita_iva", "invalid_partita_iva"),
        ]
        .into_iter()
        .map(|(p, c)| (p.to_owned(), c.to_owned()))
        .collect();
        assert_eq!(found, expected, "{}", reply.text);
    }
);

both_databases!(sign_up_refuses_fields_the_server_owns, |app| async move {
    for field in ["id", "password_hash", "created_at", "role"] {
        let mut body = json!({"email": "owned@example.com", "password": PASSWORD, "holder": company("01234567897")});
        body[field] = json!("x");
        let reply = app.post_json("/v1/customers", &body).await;
        assert_invalid_field(&reply, &format!("/{field}"), "unknown_field");
    }
    let mut holder = company("01234567897");
    holder["customer_id"] = json!(uuid::Uuid::new_v4().to_string());
    let reply = app
        .post_json(
            "/v1/customers",
            &json!({"email": "owned@example.com", "password": PASSWORD, "holder": holder}),
        )
        .await;
    assert_invalid_field(&reply, "/holder/customer_id", "unknown_field");
});

// --- password policy -----------------------------------------------------

both_databases!(
    the_password_policy_is_12_to_128_characters_and_not_a_common_one,
    |app| async move {
        let email = "policy@example.com";
        let too_long = "x".repeat(129);
        let refused = [
            ("elevenchars", "password_too_short"),
            // Eleven characters of four bytes each: characters count, not bytes.
            ("🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑", "password_too_short"),
            (too_long.as_str(), "password_too_long"),
            ("password1234", "password_too_common"),
            ("PassWord1234", "password_too_common"),
            (email, "password_matches_user_data"),
        ];
        for (password, code) in refused {
            let reply = app
            .post_json(
                "/v1/customers",
                &json!({"email": email, "password": password, "holder": company("01234567897")}),
            )
            .await;
            assert_invalid_field(&reply, "/password", code);
            assert!(
                !reply.text.contains(password),
                "the password is echoed: {}",
                reply.text
            );
        }
        // No composition rules: lower-case words and spaces are fine; so are
        // exactly 12 and exactly 128 characters, multi-byte ones included.
        let accepted = [
            "zebra ukulele".to_owned(),
            "twelve chars".to_owned(),
            "àèìòùàèìòùàè".to_owned(),
            "y".repeat(128),
        ];
        for (i, password) in accepted.iter().enumerate() {
            app.sign_up(
                &format!("ok{i}@example.com"),
                password,
                &company("01234567897"),
            )
            .await;
            assert_session(
                &app.customer_login(&format!("ok{i}@example.com"), password)
                    .await,
                "customer_area",
            );
        }
    }
);

both_databases!(a_long_password_is_never_truncated, |app| async move {
    let password: String = (0..128)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    app.sign_up("long@example.com", &password, &company("01234567897"))
        .await;
    // Prefixes a truncating scheme would accept: 127 characters, bcrypt's 72 bytes.
    for prefix in [127, 72] {
        let reply = app
            .customer_login("long@example.com", &password[..prefix])
            .await;
        assert_rfc9457(&reply, 401, "invalid_credentials");
    }
    assert_session(
        &app.customer_login("long@example.com", &password).await,
        "customer_area",
    );
});

// --- login and tokens ----------------------------------------------------

both_databases!(
    a_customer_token_is_an_hs256_jwt_naming_issuer_audience_subject_and_type,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let account = app
            .sign_up("claims@example.com", PASSWORD, &company("01234567897"))
            .await;
        let first = app.customer_login("claims@example.com", PASSWORD).await;
        let (access, refresh_token) = assert_session(&first, "customer_area");
        assert_eq!(first.body["expires_in"], 900, "{}", first.text);
        let (header, claims) = verified(&access, "customer_area");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(claims["iss"], "attiva", "{claims}");
        assert_eq!(claims["aud"], "customer_area", "{claims}");
        assert_eq!(claims["sub"], account["id"], "{claims}");
        assert_eq!(claims["typ"], "access", "{claims}");
        let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
        assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(900), "{claims}");
        assert!(
            exp.is_some_and(|e| (e - unix_now() - 900).abs() <= 60),
            "{claims}"
        );
        let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
        assert!(uuid::Uuid::parse_str(&jti).is_ok(), "{claims}");
        assert_eq!(refresh_token.len(), 64, "256 random bits, hex");
        assert!(
            !refresh_token.contains('.'),
            "refresh tokens are opaque, not JWTs"
        );

        let (second, second_refresh) = assert_session(
            &app.customer_login("claims@example.com", PASSWORD).await,
            "customer_area",
        );
        let (_, again) = verified(&second, "customer_area");
        assert_ne!(again["jti"], jti, "every token has its own id");
        assert_ne!(second_refresh, refresh_token);
    }
);

both_databases!(
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    |app| async move {
        app.sign_up("known@example.com", PASSWORD, &company("01234567897"))
            .await;
        let wrong = app
            .customer_login("known@example.com", "not the right password")
            .await;
        let unknown = app
            .customer_login("nobody@example.com", "not the right password")
            .await;
        assert_rfc9457(&wrong, 401, "invalid_credentials");
        assert_rfc9457(&unknown, 401, "invalid_credentials");
        assert_eq!(
            wrong.body, unknown.body,
            "the body must not tell them apart"
        );
        let names = |r: &Reply| -> BTreeSet<String> {
            r.headers
                .keys()
                .map(|k| k.as_str().to_owned())
                .filter(|k| k != "date")
                .collect()
        };
        assert_eq!(names(&wrong), names(&unknown));
        for header in ["content-type", "www-authenticate", "cache-control"] {
            assert_eq!(wrong.header(header), unknown.header(header), "{header}");
        }
    }
);

both_databases!(me_needs_a_bearer_token, |app| async move {
    let reply = app.get("/v1/customers/me").await;
    assert_bearer_challenge(&reply, "authentication_required");
    for authorization in ["Basic a2V5OnZhbHVl", "Bearer ", "Token abc"] {
        let reply = app
            .send(
                app.request(Method::GET, "/v1/customers/me")
                    .header("authorization", authorization),
            )
            .await;
        assert_bearer_challenge(&reply, "authentication_required");
    }
    for token in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        let reply = app.get_as("/v1/customers/me", token).await;
        assert_bearer_challenge(&reply, "invalid_token");
    }
});

both_databases!(
    a_token_with_alg_none_is_refused,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let (id, _, _) = customer_session(app, "none@example.com", "01234567897").await;
        let claims = customer_claims(&id);
        // Control: the same claims, honestly signed, are accepted.
        let honest = sign(&claims, Algorithm::HS256, SECRET);
        let reply = app.get_as("/v1/customers/me", &honest).await;
        assert_eq!(reply.status, StatusCode::OK, "control: {}", reply.text);

        let payload = base64url(claims.to_string().as_bytes());
        let signature = honest.rsplit('.').next().unwrap_or_default();
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = base64url(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
            for token in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
                format!("{header}.{payload}.{signature}"),
            ] {
                let reply = app.get_as("/v1/customers/me", &token).await;
                assert_bearer_challenge(&reply, "invalid_token");
            }
        }
    }
);

both_databases!(
    a_token_signed_with_another_key_or_algorithm_is_refused,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let (id, _, _) = customer_session(app, "keys@example.com", "01234567897").await;
        let claims = customer_claims(&id);
        let reply = app
            .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "control: {}", reply.text);

        let other_key = "another-64-byte-key-that-is-not-the-servers-0123456789abcdefghij";
        let forged = [
            sign(&claims, Algorithm::HS256, other_key),
            sign(&claims, Algorithm::HS256, &SECRET[..32]),
            // The right key, but an algorithm the server does not use.
            sign(&claims, Algorithm::HS384, SECRET),
            sign(&claims, Algorithm::HS512, SECRET),
        ];
        for token in forged {
            let reply = app.get_as("/v1/customers/me", &token).await;
            assert_bearer_challenge(&reply, "invalid_token");
        }

        // A genuine token whose payload was edited keeps a signature that
        // no longer matches.
        let honest = sign(&claims, Algorithm::HS256, SECRET);
        let parts: Vec<&str> = honest.split('.').collect();
        let mut edited = claims.clone();
        edited["sub"] = json!(uuid::Uuid::new_v4().to_string());
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            base64url(edited.to_string().as_bytes()),
            parts[2]
        );
        let reply = app.get_as("/v1/customers/me", &tampered).await;
        assert_bearer_challenge(&reply, "invalid_token");
    }
);

both_databases!(
    an_expired_token_or_one_from_another_issuer_is_refused,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let (id, _, _) = customer_session(app, "expired@example.com", "01234567897").await;
        let mut claims = customer_claims(&id);
        let reply = app
            .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "control: {}", reply.text);

        let now = unix_now();
        claims["iat"] = json!(now - 3600);
        claims["exp"] = json!(now - 60);
        let reply = app
            .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
            .await;
        assert_bearer_challenge(&reply, "invalid_token");

        let mut claims = customer_claims(&id);
        claims["iss"] = json!("someone-else");
        let reply = app
            .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
            .await;
        assert_bearer_challenge(&reply, "invalid_token");

        for missing in ["exp", "iss", "aud", "sub", "jti", "typ"] {
            let mut claims = customer_claims(&id);
            if let Some(object) = claims.as_object_mut() {
                object.remove(missing);
            }
            let reply = app
                .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
                .await;
            assert_bearer_challenge(&reply, "invalid_token");
        }
    }
);

both_databases!(
    a_token_for_another_audience_is_refused_by_the_customer_area,
    [("ATTIVA_JWT_SECRET", SECRET)],
    |app| async move {
        let (id, _, _) = customer_session(app, "audience@example.com", "01234567897").await;
        for audience in ["panel", "backoffice"] {
            let mut claims = customer_claims(&id);
            claims["aud"] = json!(audience);
            let reply = app
                .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
                .await;
            assert_rfc9457(&reply, 403, "wrong_audience");
        }
        // Unknown audiences and tokens claiming several are not tokens of ours.
        for audience in [
            json!("admin"),
            json!(["panel", "customer_area"]),
            json!(["customer_area"]),
        ] {
            let mut claims = customer_claims(&id);
            claims["aud"] = audience.clone();
            let reply = app
                .get_as("/v1/customers/me", &sign(&claims, Algorithm::HS256, SECRET))
                .await;
            assert!(
                reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN,
                "aud {audience}: {}",
                reply.text
            );
            assert_ne!(
                reply.status,
                StatusCode::OK,
                "aud {audience}: {}",
                reply.text
            );
        }
        // A token of a customer that does not exist opens nothing.
        let stranger = customer_claims(&uuid::Uuid::new_v4().to_string());
        let reply = app
            .get_as(
                "/v1/customers/me",
                &sign(&stranger, Algorithm::HS256, SECRET),
            )
            .await;
        assert_rfc9457(&reply, 401, "invalid_token");
    }
);

both_databases!(a_refresh_token_is_not_an_access_token, |app| async move {
    let (_, _, refresh_token) = customer_session(app, "opaque@example.com", "01234567897").await;
    let reply = app.get_as("/v1/customers/me", &refresh_token).await;
    assert_bearer_challenge(&reply, "invalid_token");
});

// --- refresh and logout --------------------------------------------------

both_databases!(a_refresh_token_is_rotated_on_every_use, |app| async move {
    let (id, _, first) = customer_session(app, "rotate@example.com", "01234567897").await;
    let reply = refresh(app, &first).await;
    let (access, second) = assert_session(&reply, "customer_area");
    assert_ne!(second, first, "a new refresh token every time");
    let me = app.get_as("/v1/customers/me", &access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["id"], id.as_str());
    let (_, third) = assert_session(&refresh(app, &second).await, "customer_area");
    assert_ne!(third, second);
    assert_ne!(third, first);
});

both_databases!(
    reusing_a_refresh_token_revokes_its_whole_family,
    |app| async move {
        let (_, _, first) = customer_session(app, "reuse@example.com", "01234567897").await;
        // Another login of the same customer: another family.
        let (_, other) = assert_session(
            &app.customer_login("reuse@example.com", PASSWORD).await,
            "customer_area",
        );
        let (_, second) = assert_session(&refresh(app, &first).await, "customer_area");

        // A thief replays the used token.
        let reply = refresh(app, &first).await;
        assert_rfc9457(&reply, 401, "refresh_token_reused");
        assert_no_store(&reply);
        // The legitimate successor dies with the family...
        let reply = refresh(app, &second).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert!(
            ["refresh_token_reused", "invalid_refresh_token"]
                .contains(&reply.body["code"].as_str().unwrap_or_default()),
            "{}",
            reply.text
        );
        // ...and the other login is untouched.
        assert_session(&refresh(app, &other).await, "customer_area");
    }
);

both_databases!(
    racing_refreshes_of_one_token_leave_no_live_session,
    |app| async move {
        let (_, _, token) = customer_session(app, "racing@example.com", "01234567897").await;
        let replies = join_all((0..4).map(|_| refresh(app, &token))).await;
        let winners: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(winners.len(), 1, "exactly one rotation wins: {replies:#?}");
        for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
            assert_rfc9457(reply, 401, "refresh_token_reused");
        }
        // The reuse revoked the family, the winner's successor included.
        let successor = winners[0].body["refresh_token"]
            .as_str()
            .unwrap_or_default();
        let reply = refresh(app, successor).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    }
);

both_databases!(an_unknown_refresh_token_is_refused, |app| async move {
    let zeros = "0".repeat(64);
    for token in ["", "not-a-token", zeros.as_str()] {
        let reply = refresh(app, token).await;
        assert_rfc9457(&reply, 401, "invalid_refresh_token");
        assert_no_store(&reply);
    }
    let reply = refresh(app, &"a".repeat(257)).await;
    assert_invalid_field(&reply, "/refresh_token", "too_long");
});

both_databases!(
    logout_revokes_the_sessions_of_that_login_only,
    |app| async move {
        let (_, _, first) = customer_session(app, "logout@example.com", "01234567897").await;
        let (_, other) = assert_session(
            &app.customer_login("logout@example.com", PASSWORD).await,
            "customer_area",
        );
        let (_, current) = assert_session(&refresh(app, &first).await, "customer_area");

        let reply = app
            .post_json("/v1/auth/logout", &json!({"refresh_token": current}))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert_security_headers(&reply, "logout");
        for token in [&current, &first] {
            let reply = refresh(app, token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
        }
        assert_session(&refresh(app, &other).await, "customer_area");

        // Idempotent, and silent about tokens it does not know.
        for token in [current.as_str(), "never-issued"] {
            let reply = app
                .post_json("/v1/auth/logout", &json!({"refresh_token": token}))
                .await;
            assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        }
    }
);

// --- brute force ---------------------------------------------------------

both_databases!(
    failures_for_an_account_past_its_limit_answer_429_from_anywhere,
    [("ATTIVA_LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")],
    |app| async move {
        app.sign_up("target@example.com", PASSWORD, &company("01234567897"))
            .await;
        app.sign_up("bystander@example.com", PASSWORD, &company("00743110157"))
            .await;
        // Five failures, each from its own address: the account's limit
        // over all addresses (lowered to five here) is reached.
        for octet in 11..16 {
            let reply = login_from(
                app,
                &client_at(octet),
                "target@example.com",
                "guess guess guess",
            )
            .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        let fresh = client_at(20);
        let reply = login_from(app, &fresh, "target@example.com", PASSWORD).await;
        assert_throttled(&reply, 900);
        assert_security_headers(&reply, "429");
        // Case and spaces do not make another account.
        let reply = login_from(app, &fresh, " TARGET@example.com ", PASSWORD).await;
        assert_throttled(&reply, 900);
        // The address is not blocked: another account logs in from it.
        assert_session(
            &login_from(app, &fresh, "bystander@example.com", PASSWORD).await,
            "customer_area",
        );
    }
);

both_databases!(
    failures_from_an_address_past_its_limit_answer_429_for_every_account_from_there,
    [("ATTIVA_LOGIN_MAX_FAILURES_PER_ADDRESS", "5")],
    |app| async move {
        app.sign_up("victim@example.com", PASSWORD, &company("01234567897"))
            .await;
        let attacker = client_at(30);
        // A credential-stuffing run over five accounts, one try each: the
        // address's limit over all accounts (lowered to five here) is reached.
        for i in 0..5 {
            let reply = login_from(
                app,
                &attacker,
                &format!("user{i}@example.com"),
                "Summer2024!!",
            )
            .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        let reply = login_from(app, &attacker, "victim@example.com", PASSWORD).await;
        assert_throttled(&reply, 900);
        // A forged X-Forwarded-For does not buy a fresh address.
        let reply = app
            .send(
                attacker
                    .post(format!("{}/v1/auth/customer/login", app.address))
                    .header("x-forwarded-for", "203.0.113.7")
                    .header("forwarded", "for=203.0.113.7")
                    .json(&json!({"email": "victim@example.com", "password": PASSWORD})),
            )
            .await;
        assert_throttled(&reply, 900);
        // The account itself is not locked: from elsewhere it logs in.
        assert_session(
            &login_from(app, &client_at(31), "victim@example.com", PASSWORD).await,
            "customer_area",
        );
    }
);

both_databases!(
    an_unknown_account_is_throttled_like_a_known_one,
    |app| async move {
        app.sign_up("real@example.com", PASSWORD, &company("01234567897"))
            .await;
        let mut last = Vec::new();
        for (octet, email) in [(40, "real@example.com"), (41, "ghost@example.com")] {
            let client = client_at(octet);
            let mut answers = Vec::new();
            for _ in 0..6 {
                answers.push(login_from(app, &client, email, "wrong wrong wrong").await);
            }
            for reply in &answers[..5] {
                assert_rfc9457(reply, 401, "invalid_credentials");
            }
            assert_throttled(&answers[5], 900);
            last.push(answers);
        }
        let (known, unknown) = (&last[0], &last[1]);
        assert_eq!(known[0].body, unknown[0].body, "the 401s are identical");
        assert_eq!(known[5].status, unknown[5].status);
        assert_eq!(keys(&known[5].body), keys(&unknown[5].body));
        assert_eq!(known[5].body["code"], unknown[5].body["code"]);
        assert_eq!(known[5].body["type"], unknown[5].body["type"]);
    }
);

both_databases!(
    concurrent_wrong_passwords_are_counted_before_any_is_verified,
    |app| async move {
        app.sign_up("rushed@example.com", PASSWORD, &company("01234567897"))
            .await;
        let attacker = client_at(70);
        let replies = join_all(
            (0..50).map(|_| login_from(app, &attacker, "rushed@example.com", "guess guess guess")),
        )
        .await;
        assert_at_most_verified(&replies, 5);
        assert_throttled(
            &login_from(app, &attacker, "rushed@example.com", PASSWORD).await,
            900,
        );

        // 29 wrong and the right one together: at most five are verified,
        // so the right one gets in only if it is one of them.
        app.sign_up("lucky@example.com", PASSWORD, &company("00743110157"))
            .await;
        let guesser = client_at(71);
        let replies = join_all((0..30).map(|i| {
            let password = if i == 29 {
                PASSWORD
            } else {
                "guess guess guess"
            };
            login_from(app, &guesser, "lucky@example.com", password)
        }))
        .await;
        assert_at_most_verified(&replies, 5);
    }
);

both_databases!(
    a_neighbours_failures_do_not_lock_out_another_user_at_the_same_address,
    |app| async move {
        app.sign_up("clumsy@example.com", PASSWORD, &company("01234567897"))
            .await;
        app.sign_up("careful@example.com", PASSWORD, &company("00743110157"))
            .await;
        // One office, one public address: a colleague's typos.
        let office = client_at(72);
        for _ in 0..5 {
            let reply = login_from(app, &office, "clumsy@example.com", "typo typo typo").await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &login_from(app, &office, "clumsy@example.com", PASSWORD).await,
            900,
        );
        assert_session(
            &login_from(app, &office, "careful@example.com", PASSWORD).await,
            "customer_area",
        );
        // And a success does not lift the colleague's block.
        assert_throttled(
            &login_from(app, &office, "clumsy@example.com", PASSWORD).await,
            900,
        );
    }
);

both_databases!(
    failures_from_elsewhere_do_not_lock_the_victim_out,
    |app| async move {
        app.sign_up("victim@example.com", PASSWORD, &company("01234567897"))
            .await;
        let attacker = client_at(73);
        for _ in 0..5 {
            let reply = login_from(app, &attacker, "victim@example.com", "guess guess guess").await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &login_from(app, &attacker, "victim@example.com", PASSWORD).await,
            900,
        );
        // The owner, from its own address, logs in; and that success does
        // not unblock the attacker.
        assert_session(
            &login_from(app, &client_at(74), "victim@example.com", PASSWORD).await,
            "customer_area",
        );
        assert_throttled(
            &login_from(app, &attacker, "victim@example.com", "guess guess guess").await,
            900,
        );
    }
);

both_databases!(
    a_spoofed_forwarded_for_does_not_reset_a_limit,
    |app| async move {
        app.sign_up("spoofed@example.com", PASSWORD, &company("01234567897"))
            .await;
        let attacker = client_at(75);
        let mut replies = Vec::new();
        for i in 0..6 {
            let claimed = format!("203.0.113.{}", 10 + i);
            let forwarded = format!("for={claimed}");
            replies.push(
                login_forwarded(
                    app,
                    &attacker,
                    &[
                        ("x-forwarded-for", claimed.as_str()),
                        ("forwarded", forwarded.as_str()),
                    ],
                    "spoofed@example.com",
                    "guess guess guess",
                )
                .await,
            );
        }
        for reply in &replies[..5] {
            assert_rfc9457(reply, 401, "invalid_credentials");
        }
        assert_throttled(&replies[5], 900);
    }
);

both_databases!(
    behind_a_trusted_proxy_each_forwarded_client_is_limited_on_its_own,
    [("ATTIVA_TRUSTED_PROXIES", "127.0.0.1/32")],
    |app| async move {
        app.sign_up("shared@example.com", PASSWORD, &company("01234567897"))
            .await;
        // `app.client` connects from 127.0.0.1: the proxy.
        let proxy = &app.client;
        for _ in 0..5 {
            let reply = login_forwarded(
                app,
                proxy,
                &[("x-forwarded-for", "203.0.113.1")],
                "shared@example.com",
                "guess guess guess",
            )
            .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        let reply = login_forwarded(
            app,
            proxy,
            &[("x-forwarded-for", "203.0.113.1")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_throttled(&reply, 900);
        // Another client behind the proxy is not; what a client puts left
        // of its own address does not make it someone else.
        let reply = login_forwarded(
            app,
            proxy,
            &[("x-forwarded-for", "203.0.113.1, 203.0.113.2")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_session(&reply, "customer_area");
        let reply = login_forwarded(
            app,
            proxy,
            &[("forwarded", "for=203.0.113.3;proto=https")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_session(&reply, "customer_area");
        let reply = login_forwarded(
            app,
            proxy,
            &[("x-forwarded-for", "203.0.113.2, 203.0.113.1")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_throttled(&reply, 900);

        // A peer that is not the proxy is its own client, whatever it sends.
        let direct = client_at(76);
        for _ in 0..5 {
            let reply = login_forwarded(
                app,
                &direct,
                &[("x-forwarded-for", "203.0.113.9")],
                "shared@example.com",
                "guess guess guess",
            )
            .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        let reply = login_forwarded(
            app,
            &direct,
            &[("x-forwarded-for", "203.0.113.10")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_throttled(&reply, 900);
        let reply = login_forwarded(
            app,
            proxy,
            &[("x-forwarded-for", "203.0.113.9")],
            "shared@example.com",
            PASSWORD,
        )
        .await;
        assert_session(&reply, "customer_area");
    }
);

both_databases!(
    the_failure_limit_is_a_setting,
    [("ATTIVA_LOGIN_MAX_FAILURES", "3")],
    |app| async move {
        app.sign_up("three@example.com", PASSWORD, &company("01234567897"))
            .await;
        for _ in 0..3 {
            let reply = app
                .customer_login("three@example.com", "nope nope nope")
                .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &app.customer_login("three@example.com", PASSWORD).await,
            900,
        );
    }
);

both_databases!(
    the_block_lifts_once_the_failures_leave_the_window,
    [
        ("ATTIVA_LOGIN_MAX_FAILURES", "2"),
        ("ATTIVA_LOGIN_WINDOW_SECS", "5")
    ],
    |app| async move {
        app.sign_up("patient@example.com", PASSWORD, &company("01234567897"))
            .await;
        for _ in 0..2 {
            let reply = app
                .customer_login("patient@example.com", "nope nope nope")
                .await;
            assert_rfc9457(&reply, 401, "invalid_credentials");
        }
        assert_throttled(
            &app.customer_login("patient@example.com", PASSWORD).await,
            5,
        );
        // Poll (no fixed wait) until the window has passed.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let reply = app.customer_login("patient@example.com", PASSWORD).await;
            if reply.status == StatusCode::OK {
                assert_session(&reply, "customer_area");
                break;
            }
            assert_throttled(&reply, 5);
            assert!(
                tokio::time::Instant::now() < deadline,
                "still throttled after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
);

// --- headers -------------------------------------------------------------

both_databases!(
    every_response_carries_the_security_headers,
    |app| async move {
        let (_, access, refresh_token) =
            customer_session(app, "headers@example.com", "01234567897").await;
        let replies = [
            ("GET /health/live", app.get("/health/live").await),
            (
                "GET /v1/catalog/products",
                app.get("/v1/catalog/products").await,
            ),
            ("404", app.get("/v1/nothing").await),
            (
                "405",
                app.send(app.request(Method::DELETE, "/v1/customers/me"))
                    .await,
            ),
            (
                "422 sign-up",
                app.post_json("/v1/customers", &json!({"email": "x"})).await,
            ),
            ("401 me", app.get("/v1/customers/me").await),
            ("200 me", app.get_as("/v1/customers/me", &access).await),
            (
                "401 login",
                app.customer_login("headers@example.com", "wrong wrong wrong")
                    .await,
            ),
            ("200 refresh", refresh(app, &refresh_token).await),
        ];
        for (what, reply) in &replies {
            assert_security_headers(reply, what);
        }
    }
);

both_databases!(
    responses_carrying_tokens_or_credentials_are_never_stored,
    |app| async move {
        let signed_up = app
        .post_json(
            "/v1/customers",
            &json!({"email": "nostore@example.com", "password": PASSWORD, "holder": company("01234567897")}),
        )
        .await;
        assert_eq!(signed_up.status, StatusCode::CREATED, "{}", signed_up.text);
        let login = app.customer_login("nostore@example.com", PASSWORD).await;
        let (access, refresh_token) = assert_session(&login, "customer_area");
        let replies = [
            ("sign-up", signed_up),
            ("login", login),
            (
                "failed login",
                app.customer_login("nostore@example.com", "wrong wrong wrong")
                    .await,
            ),
            ("me", app.get_as("/v1/customers/me", &access).await),
            ("refresh", refresh(app, &refresh_token).await),
            ("failed refresh", refresh(app, &refresh_token).await),
        ];
        for (what, reply) in &replies {
            assert!(
                reply
                    .header("cache-control")
                    .is_some_and(|v| v.contains("no-store")),
                "{what}: Cache-Control is {:?}",
                reply.header("cache-control")
            );
            assert_security_headers(reply, what);
        }
    }
);
