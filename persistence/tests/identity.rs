//! Identity storage against real databases: every scenario runs on a fresh
//! SQLite file and on a fresh PostgreSQL database.
//!
//! PostgreSQL: `ATTIVA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`); when it cannot be reached the
//! PostgreSQL half is skipped with a message, unless
//! `ATTIVA_REQUIRE_POSTGRES=1`, which makes it a failure.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use domain::Audience;
use domain::holder::AddressInput;
use domain::{Holder, HolderInput};
use persistence::identity::{NewCustomer, NewRefreshToken, RotateOutcome};
use persistence::service::NewService;
use persistence::throttle::KeyAdmission;
use persistence::{Database, StoreError};
use uuid::Uuid;

// --- harness ---

mod common;
use common::Must;

both_databases!(
    a_normalized_email_belongs_to_one_customer,
    services_are_listed_oldest_first,
    a_reissue_replaces_the_password_and_revokes_the_sessions,
    a_new_panel_password_needs_the_current_version,
    a_refresh_token_rotates_within_its_family,
    reusing_a_used_token_revokes_the_whole_family,
    of_two_concurrent_rotations_exactly_one_wins,
    an_expired_token_is_refused_and_stays_unused,
    an_unknown_token_is_unknown,
    logout_revokes_the_family_and_nothing_else,
    logout_racing_a_refresh_leaves_no_live_token,
    a_password_change_can_spare_the_new_session,
    attempts_are_admitted_up_to_each_keys_limit,
    concurrent_attempts_never_pass_the_limit,
);

// --- fixtures ---

/// Whole seconds: PostgreSQL keeps microseconds only, so round-trips
/// compare equal.
fn clock() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::seconds(1))
        .must("truncating the clock")
}

fn holder() -> Holder {
    Holder::parse(&HolderInput {
        kind: "persona_fisica".into(),
        denominazione: None,
        nome: Some("Mario".into()),
        cognome: Some("Rossi".into()),
        codice_fiscale: "RSSMRA85T10A562S".into(),
        partita_iva: None,
        address: AddressInput {
            indirizzo: "Via Roma".into(),
            numero_civico: "1".into(),
            cap: "20121".into(),
            comune: "Milano".into(),
            provincia: "MI".into(),
            nazione: "IT".into(),
        },
        phone: Some("+39 02 1234567".into()),
    })
    .unwrap_or_else(|e| panic!("the fixture holder parses: {e:?}"))
}

fn new_customer(email: &str) -> NewCustomer {
    NewCustomer {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        email_normalized: email.trim().to_lowercase(),
        password_hash: format!("$argon2id$hash-of-{email}"),
        holder: holder(),
    }
}

async fn customer(db: &Database) -> Uuid {
    let new = new_customer(&format!("{}@example.it", Uuid::new_v4().simple()));
    db.customers()
        .insert_customer(&new)
        .await
        .must("inserting a customer")
        .id
}

fn new_service(customer_id: Uuid, holder_tax_id: &str) -> NewService {
    NewService {
        id: Uuid::new_v4(),
        customer_id,
        product_code: "fe".into(),
        status: domain::ServiceStatus::AwaitingConfiguration,
        holder_tax_id: holder_tax_id.into(),
        codice_destinatario: "0000000".into(),
        expires_on: NaiveDate::from_ymd_opt(2027, 3, 31).must("a date"),
    }
}

async fn service(db: &Database) -> Uuid {
    let customer_id = customer(db).await;
    db.services()
        .insert_service(&new_service(customer_id, "RSSMRA85T10A562S"))
        .await
        .must("inserting a service")
        .id
}

/// A token hash as the api makes them: 64 hex characters.
fn hash() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

fn token(
    family_id: Uuid,
    audience: Audience,
    subject_id: Uuid,
    expires_at: DateTime<Utc>,
) -> NewRefreshToken {
    NewRefreshToken {
        id: Uuid::new_v4(),
        family_id,
        audience,
        subject_id,
        token_hash: hash(),
        expires_at,
    }
}

/// The first token of a new family (a login).
async fn login(db: &Database, audience: Audience, subject_id: Uuid, now: DateTime<Utc>) -> String {
    let first = token(
        Uuid::new_v4(),
        audience,
        subject_id,
        now + Duration::days(30),
    );
    db.refresh_tokens()
        .insert_refresh_token(&first)
        .await
        .must("storing a refresh token");
    first.token_hash
}

/// A successor as the api builds it before rotating: it knows neither the
/// family, nor the audience, nor the subject yet.
fn successor(now: DateTime<Utc>) -> NewRefreshToken {
    token(
        Uuid::new_v4(),
        Audience::Backoffice,
        Uuid::new_v4(),
        now + Duration::days(30),
    )
}

async fn rotate(db: &Database, token_hash: &str, now: DateTime<Utc>) -> (RotateOutcome, String) {
    let next = successor(now);
    let next_hash = next.token_hash.clone();
    let outcome = db
        .refresh_tokens()
        .rotate_refresh_token(token_hash, next, now)
        .await
        .must("rotating");
    (outcome, next_hash)
}

// --- customers and services ---

async fn a_normalized_email_belongs_to_one_customer(db: Database) {
    let first = new_customer("Mario.Rossi@Example.it");
    let stored = db
        .customers()
        .insert_customer(&first)
        .await
        .must("first sign-up");
    assert_eq!(stored.email, "Mario.Rossi@Example.it", "kept as typed");
    assert_eq!(stored.holder, holder());

    let mut second = new_customer("  MARIO.ROSSI@example.IT ");
    second.email_normalized = "mario.rossi@example.it".into();
    let refused = db.customers().insert_customer(&second).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );

    let found = db
        .customers()
        .find_customer_by_email("mario.rossi@example.it")
        .await
        .must("by e-mail")
        .must("the first customer");
    assert_eq!(found.id, first.id);
    assert_eq!(found.password_hash, first.password_hash);
    assert_eq!(found.holder, holder());
    let by_id = db
        .customers()
        .find_customer(first.id)
        .await
        .must("by id")
        .must("the first customer");
    assert_eq!(by_id, found);
    assert!(
        db.customers()
            .find_customer(second.id)
            .await
            .must("by id")
            .is_none()
    );
    assert!(
        db.customers()
            .find_customer_by_email("Mario.Rossi@Example.it")
            .await
            .must("by e-mail")
            .is_none(),
        "lookups take the normalised form"
    );
    assert!(
        !format!("{found:?}").contains(&first.password_hash),
        "Debug hides the password hash"
    );
}

async fn services_are_listed_oldest_first(db: Database) {
    let owner = customer(&db).await;
    let other = customer(&db).await;
    let mut older = new_service(owner, "01234567897");
    older.status = domain::ServiceStatus::Active;
    let older = db.services().insert_service(&older).await.must("older");
    let newer = db
        .services()
        .insert_service(&new_service(owner, "RSSMRA85T10A562S"))
        .await
        .must("newer");
    db.services()
        .insert_service(&new_service(other, "RSSMRA85T10A562S"))
        .await
        .must("someone else's");

    let listed = db
        .services()
        .services_of_customer(owner)
        .await
        .must("listing");
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![older.id, newer.id]
    );
    let found = db
        .services()
        .find_service(older.id)
        .await
        .must("by id")
        .must("the service");
    assert_eq!(found, older);
    assert_eq!(found.status, domain::ServiceStatus::Active);
    assert_eq!(found.codice_destinatario, "0000000");
    assert_eq!(
        found.expires_on,
        NaiveDate::from_ymd_opt(2027, 3, 31).must("a date")
    );
    assert!(
        db.services()
            .find_service(Uuid::new_v4())
            .await
            .must("by id")
            .is_none()
    );

    let orphan = db
        .services()
        .insert_service(&new_service(Uuid::new_v4(), "01234567897"))
        .await;
    assert!(
        orphan.is_err(),
        "the foreign key refuses an unknown customer"
    );
}

// --- panel credentials ---

async fn a_reissue_replaces_the_password_and_revokes_the_sessions(db: Database) {
    let now = clock();
    let service_id = service(&db).await;
    let first_expiry = now + Duration::days(7);
    let issued = db
        .panel_users()
        .issue_panel_credentials(service_id, "fe-rssmra85t10a562s", "hash-1", first_expiry)
        .await
        .must("first issue");
    assert_eq!(issued.service_id, service_id);
    assert_eq!(issued.username, "fe-rssmra85t10a562s");
    assert_eq!(issued.password_hash, "hash-1");
    assert!(issued.must_change_password);
    assert_eq!(issued.temporary_password_expires_at, Some(first_expiry));
    assert_eq!(issued.credentials_version, 1);

    let session = login(&db, Audience::Panel, issued.id, now).await;
    let other_session = login(&db, Audience::Panel, issued.id, now).await;
    // Same id under another audience: not this panel user's session.
    let elsewhere = login(&db, Audience::CustomerArea, issued.id, now).await;

    let second_expiry = now + Duration::days(14);
    let reissued = db
        .panel_users()
        .issue_panel_credentials(service_id, "ignored-on-reissue", "hash-2", second_expiry)
        .await
        .must("reissue");
    assert_eq!(reissued.id, issued.id, "the same panel user");
    assert_eq!(
        reissued.username, "fe-rssmra85t10a562s",
        "the username stays"
    );
    assert_eq!(reissued.password_hash, "hash-2");
    assert!(reissued.must_change_password);
    assert_eq!(reissued.temporary_password_expires_at, Some(second_expiry));
    assert_eq!(reissued.credentials_version, 2);

    assert_eq!(
        db.panel_users()
            .find_panel_user(issued.id)
            .await
            .must("by id"),
        Some(reissued.clone())
    );
    assert_eq!(
        db.panel_users()
            .find_panel_user_by_username("fe-rssmra85t10a562s")
            .await
            .must("by username"),
        Some(reissued.clone())
    );
    assert_eq!(
        db.panel_users()
            .find_panel_user_by_service(service_id)
            .await
            .must("by service"),
        Some(reissued.clone())
    );
    assert!(
        db.panel_users()
            .find_panel_user_by_username("ignored-on-reissue")
            .await
            .must("by username")
            .is_none()
    );

    for revoked in [&session, &other_session] {
        let (outcome, _) = rotate(&db, revoked, now).await;
        assert!(
            matches!(outcome, RotateOutcome::Reused { .. }),
            "{outcome:?}"
        );
    }
    let (outcome, _) = rotate(&db, &elsewhere, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "{outcome:?}"
    );

    // Another service's panel user may not take the same username.
    let clash = db
        .panel_users()
        .issue_panel_credentials(
            service(&db).await,
            "fe-rssmra85t10a562s",
            "hash",
            second_expiry,
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert!(
        !format!("{reissued:?}").contains("hash-2"),
        "Debug hides the hash"
    );
}

async fn a_new_panel_password_needs_the_current_version(db: Database) {
    let now = clock();
    let service_id = service(&db).await;
    let user = db
        .panel_users()
        .issue_panel_credentials(
            service_id,
            "fe-01234567897",
            "temporary",
            now + Duration::days(7),
        )
        .await
        .must("issue");
    let session = login(&db, Audience::Panel, user.id, now).await;

    assert!(
        !db.panel_users()
            .set_panel_password(user.id, "chosen", 0)
            .await
            .must("stale version"),
        "an old version is refused"
    );
    let unchanged = db
        .panel_users()
        .find_panel_user(user.id)
        .await
        .must("by id")
        .must("the user");
    assert_eq!(unchanged, user);
    let (outcome, _) = rotate(&db, &session, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "a refused change revokes nothing: {outcome:?}"
    );
    let session = login(&db, Audience::Panel, user.id, now).await;

    assert!(
        db.panel_users()
            .set_panel_password(user.id, "chosen", 1)
            .await
            .must("change")
    );
    let changed = db
        .panel_users()
        .find_panel_user(user.id)
        .await
        .must("by id")
        .must("the user");
    assert_eq!(changed.password_hash, "chosen");
    assert!(!changed.must_change_password);
    assert_eq!(changed.temporary_password_expires_at, None);
    assert_eq!(changed.credentials_version, 2);
    let (outcome, _) = rotate(&db, &session, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Reused { .. }),
        "{outcome:?}"
    );

    assert!(
        !db.panel_users()
            .set_panel_password(user.id, "again", 1)
            .await
            .must("replayed change"),
        "the same version cannot be used twice"
    );
    assert!(
        !db.panel_users()
            .set_panel_password(Uuid::new_v4(), "x", 1)
            .await
            .must("unknown user")
    );
    assert_eq!(
        db.panel_users()
            .find_panel_user(user.id)
            .await
            .must("by id"),
        Some(changed)
    );
}

// --- refresh tokens ---

async fn a_refresh_token_rotates_within_its_family(db: Database) {
    let now = clock();
    let subject = Uuid::new_v4();
    let first = token(
        Uuid::new_v4(),
        Audience::CustomerArea,
        subject,
        now + Duration::days(30),
    );
    db.refresh_tokens()
        .insert_refresh_token(&first)
        .await
        .must("login");

    let (outcome, second) = rotate(&db, &first.token_hash, now).await;
    assert_eq!(
        outcome,
        RotateOutcome::Rotated {
            audience: Audience::CustomerArea,
            subject_id: subject,
            family_id: first.family_id,
        }
    );
    // The successor took the old token's family, audience and subject,
    // not the placeholders it was built with.
    let (outcome, third) = rotate(&db, &second, now + Duration::minutes(1)).await;
    assert_eq!(
        outcome,
        RotateOutcome::Rotated {
            audience: Audience::CustomerArea,
            subject_id: subject,
            family_id: first.family_id,
        }
    );
    let (outcome, _) = rotate(&db, &third, now + Duration::minutes(2)).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "{outcome:?}"
    );

    let duplicate = db.refresh_tokens().insert_refresh_token(&first).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
}

async fn reusing_a_used_token_revokes_the_whole_family(db: Database) {
    let now = clock();
    let subject = Uuid::new_v4();
    let first = token(
        Uuid::new_v4(),
        Audience::Panel,
        subject,
        now + Duration::days(30),
    );
    db.refresh_tokens()
        .insert_refresh_token(&first)
        .await
        .must("login");
    let unrelated = login(&db, Audience::Panel, subject, now).await;

    let (_, second) = rotate(&db, &first.token_hash, now).await;
    let (outcome, never_stored) = rotate(&db, &first.token_hash, now).await;
    assert_eq!(
        outcome,
        RotateOutcome::Reused {
            family_id: first.family_id
        }
    );
    let (outcome, _) = rotate(&db, &never_stored, now).await;
    assert_eq!(outcome, RotateOutcome::Unknown, "no successor for a reuse");
    let (outcome, _) = rotate(&db, &second, now).await;
    assert_eq!(
        outcome,
        RotateOutcome::Reused {
            family_id: first.family_id
        },
        "the newest token of the family is refused too"
    );
    let (outcome, _) = rotate(&db, &unrelated, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "other sessions of the subject live on: {outcome:?}"
    );
}

async fn of_two_concurrent_rotations_exactly_one_wins(db: Database) {
    let now = clock();
    for round in 0..10 {
        let subject = Uuid::new_v4();
        let contested = login(&db, Audience::CustomerArea, subject, now).await;
        let racers = [successor(now), successor(now)].map(|next| {
            let db = db.clone();
            let contested = contested.clone();
            tokio::spawn(async move {
                let next_hash = next.token_hash.clone();
                let outcome = db
                    .refresh_tokens()
                    .rotate_refresh_token(&contested, next, now)
                    .await;
                (outcome.must("rotating"), next_hash)
            })
        });
        let [a, b] = racers;
        let (a, b) = tokio::join!(a, b);
        let results = [a.must("racer a"), b.must("racer b")];
        let winners: Vec<&String> = results
            .iter()
            .filter(|(outcome, _)| matches!(outcome, RotateOutcome::Rotated { .. }))
            .map(|(_, next)| next)
            .collect();
        let losers = results
            .iter()
            .filter(|(outcome, _)| matches!(outcome, RotateOutcome::Reused { .. }))
            .count();
        assert_eq!(
            (winners.len(), losers),
            (1, 1),
            "round {round}: {results:?}"
        );
        // The loser's reuse revoked the family, the winner's successor too.
        let (outcome, _) = rotate(&db, winners[0], now).await;
        assert!(
            matches!(outcome, RotateOutcome::Reused { .. }),
            "round {round}: {outcome:?}"
        );
    }
}

async fn an_expired_token_is_refused_and_stays_unused(db: Database) {
    let now = clock();
    let subject = Uuid::new_v4();
    let stale = token(
        Uuid::new_v4(),
        Audience::Backoffice,
        subject,
        now - Duration::seconds(1),
    );
    db.refresh_tokens()
        .insert_refresh_token(&stale)
        .await
        .must("login");
    let at_the_limit = token(Uuid::new_v4(), Audience::Backoffice, subject, now);
    db.refresh_tokens()
        .insert_refresh_token(&at_the_limit)
        .await
        .must("login");

    for _ in 0..2 {
        let (outcome, _) = rotate(&db, &stale.token_hash, now).await;
        assert_eq!(
            outcome,
            RotateOutcome::Expired,
            "not Reused: it was never used"
        );
    }
    let (outcome, _) = rotate(&db, &at_the_limit.token_hash, now).await;
    assert_eq!(outcome, RotateOutcome::Expired, "expiry is exclusive");
    let (outcome, _) = rotate(
        &db,
        &at_the_limit.token_hash,
        now - Duration::milliseconds(1),
    )
    .await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "a millisecond earlier it was live: {outcome:?}"
    );
}

async fn an_unknown_token_is_unknown(db: Database) {
    let now = clock();
    let (outcome, _) = rotate(&db, &hash(), now).await;
    assert_eq!(outcome, RotateOutcome::Unknown);
    assert!(
        !db.refresh_tokens()
            .revoke_refresh_family(&hash(), now)
            .await
            .must("logout")
    );
}

async fn logout_revokes_the_family_and_nothing_else(db: Database) {
    let now = clock();
    let subject = Uuid::new_v4();
    let first = login(&db, Audience::CustomerArea, subject, now).await;
    let (_, second) = rotate(&db, &first, now).await;
    let other_device = login(&db, Audience::CustomerArea, subject, now).await;

    assert!(
        db.refresh_tokens()
            .revoke_refresh_family(&second, now)
            .await
            .must("logout")
    );
    let (outcome, _) = rotate(&db, &second, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Reused { .. }),
        "{outcome:?}"
    );
    assert!(
        db.refresh_tokens()
            .revoke_refresh_family(&first, now)
            .await
            .must("logout again"),
        "a known token, even of a revoked family"
    );
    let (outcome, _) = rotate(&db, &other_device, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "{outcome:?}"
    );
}

async fn logout_racing_a_refresh_leaves_no_live_token(db: Database) {
    let now = clock();
    for round in 0..10 {
        let current = login(&db, Audience::Panel, Uuid::new_v4(), now).await;
        let refresh = {
            let db = db.clone();
            let current = current.clone();
            let next = successor(now);
            tokio::spawn(async move {
                let next_hash = next.token_hash.clone();
                let outcome = db
                    .refresh_tokens()
                    .rotate_refresh_token(&current, next, now)
                    .await;
                (outcome.must("rotating"), next_hash)
            })
        };
        let logout = {
            let db = db.clone();
            let current = current.clone();
            tokio::spawn(async move {
                db.refresh_tokens()
                    .revoke_refresh_family(&current, now)
                    .await
            })
        };
        let (refreshed, logged_out) = tokio::join!(refresh, logout);
        let (outcome, next) = refreshed.must("refresh task");
        assert!(logged_out.must("logout task").must("logout"));
        if matches!(outcome, RotateOutcome::Rotated { .. }) {
            let (after, _) = rotate(&db, &next, now).await;
            assert!(
                matches!(after, RotateOutcome::Reused { .. }),
                "round {round}: the successor outlived the logout: {after:?}"
            );
        } else {
            assert!(
                matches!(outcome, RotateOutcome::Reused { .. }),
                "round {round}: {outcome:?}"
            );
        }
    }
}

async fn a_password_change_can_spare_the_new_session(db: Database) {
    let now = clock();
    let subject = Uuid::new_v4();
    let old_session = login(&db, Audience::CustomerArea, subject, now).await;
    let new_family = Uuid::new_v4();
    let new_session = token(
        new_family,
        Audience::CustomerArea,
        subject,
        now + Duration::days(1),
    );
    db.refresh_tokens()
        .insert_refresh_token(&new_session)
        .await
        .must("new session");
    let operator_session = login(&db, Audience::Backoffice, subject, now).await;

    let revoked = db
        .refresh_tokens()
        .revoke_subject_refresh_tokens(Audience::CustomerArea, subject, Some(new_family), now)
        .await
        .must("revoking");
    assert_eq!(revoked, 1);
    let (outcome, _) = rotate(&db, &old_session, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Reused { .. }),
        "{outcome:?}"
    );
    let (outcome, newest) = rotate(&db, &new_session.token_hash, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "{outcome:?}"
    );
    let (outcome, _) = rotate(&db, &operator_session, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Rotated { .. }),
        "another audience is untouched: {outcome:?}"
    );

    let revoked = db
        .refresh_tokens()
        .revoke_subject_refresh_tokens(Audience::CustomerArea, subject, None, now)
        .await
        .must("revoking all");
    assert_eq!(revoked, 2, "the used token and its successor");
    let (outcome, _) = rotate(&db, &newest, now).await;
    assert!(
        matches!(outcome, RotateOutcome::Reused { .. }),
        "{outcome:?}"
    );
}

// --- throttling ---

async fn attempts_are_admitted_up_to_each_keys_limit(db: Database) {
    let now = clock();
    let window = Duration::minutes(15);
    let keys = [
        ("pair:panel:127.0.0.1/alice".to_owned(), 2),
        ("address:panel:127.0.0.1".to_owned(), 3),
    ];
    let admit = |at: DateTime<Utc>| {
        let db = db.clone();
        let keys = keys.clone();
        async move {
            db.login_attempts()
                .admit_login_attempt(&keys, at, window)
                .await
                .must("admitting")
        }
    };
    let counted = |outcome: &[KeyAdmission]| {
        outcome
            .iter()
            .map(|a| (a.admitted, a.attempts))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        db.login_attempts()
            .admit_login_attempt(&[], now, window)
            .await
            .must("no keys"),
        vec![]
    );
    let first = admit(now).await;
    assert_eq!(counted(&first), [(true, 1), (true, 1)]);
    assert_eq!(first[0].key, keys[0].0, "in the order given");
    assert!(first.iter().all(|a| a.window_started_at == now));
    assert_eq!(
        counted(&admit(now + Duration::minutes(1)).await),
        [(true, 2), (true, 2)]
    );
    // The pair is at its limit: refused there, counted by the address.
    let third = admit(now + Duration::minutes(2)).await;
    assert_eq!(counted(&third), [(false, 2), (true, 3)]);
    assert!(
        third.iter().all(|a| a.window_started_at == now),
        "{third:?}"
    );
    // Given back, the address has room for one more again.
    db.login_attempts()
        .release_login_attempts(&third, None)
        .await
        .must("releasing");
    assert_eq!(
        counted(&admit(now + Duration::minutes(3)).await),
        [(false, 2), (true, 3)]
    );
    assert_eq!(
        counted(&admit(now + Duration::minutes(4)).await),
        [(false, 2), (false, 3)]
    );

    // The window ends 15 minutes after its first attempt: both start again.
    let later = now + window;
    let renewed = admit(later).await;
    assert_eq!(counted(&renewed), [(true, 1), (true, 1)]);
    assert!(renewed.iter().all(|a| a.window_started_at == later));
    // A release for the window that ended gives nothing back to the new one.
    db.login_attempts()
        .release_login_attempts(&first, None)
        .await
        .must("releasing");
    assert_eq!(counted(&admit(later).await), [(true, 2), (true, 2)]);

    // A success: the pair's count is cleared, the address gets one back.
    let success = admit(later + Duration::seconds(1)).await;
    assert_eq!(counted(&success), [(false, 2), (true, 3)]);
    db.login_attempts()
        .release_login_attempts(&success[1..], Some(&keys[0].0))
        .await
        .must("clearing");
    assert_eq!(
        counted(&admit(later + Duration::seconds(2)).await),
        [(true, 1), (true, 3)]
    );

    // Sub-second instants order correctly (SQLite stores RFC 3339 text).
    let key = [("account:panel:carol".to_owned(), 1)];
    let at = now + Duration::milliseconds(500);
    let once = db
        .login_attempts()
        .admit_login_attempt(&key, at, window)
        .await
        .must("admitting");
    assert!(once[0].admitted);
    let edge = db
        .login_attempts()
        .admit_login_attempt(&key, at + window - Duration::microseconds(1), window)
        .await
        .must("admitting");
    assert!(!edge[0].admitted, "1 µs before the window ends");
    let after = db
        .login_attempts()
        .admit_login_attempt(&key, at + window, window)
        .await
        .must("admitting");
    assert!(after[0].admitted, "the window has ended");

    let pruned = db
        .login_attempts()
        .prune_login_attempts(later + Duration::milliseconds(250))
        .await
        .must("pruning");
    assert_eq!(
        pruned, 2,
        "the pair and the address, whose window started at `later`"
    );
    let pruned = db
        .login_attempts()
        .prune_login_attempts(at + window)
        .await
        .must("pruning");
    assert_eq!(pruned, 0, "carol's window started at `at + window`");
}

async fn concurrent_attempts_never_pass_the_limit(db: Database) {
    let now = clock();
    let keys = [
        (
            "pair:customer_area:127.0.0.1/dora@example.com".to_owned(),
            5,
        ),
        ("address:customer_area:127.0.0.1".to_owned(), 100),
    ];
    let attempts = (0..50).map(|_| {
        let db = db.clone();
        let keys = keys.clone();
        tokio::spawn(async move {
            db.login_attempts()
                .admit_login_attempt(&keys, now, Duration::minutes(15))
                .await
                .must("admitting")
        })
    });
    let mut admitted = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        let outcome = attempt.await.must("joining");
        assert!(outcome[1].admitted, "the address has room: {outcome:?}");
        if outcome[0].admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5, "exactly the limit, whatever the concurrency");
}

#[test]
fn audiences_read_back_as_written() {
    for audience in Audience::ALL {
        assert_eq!(Audience::parse(audience.as_str()), Some(audience));
    }
    assert_eq!(Audience::parse("Panel"), None);
}
