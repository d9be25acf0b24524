//! Who may log in: customer accounts, panel users (one per service),
//! back-office operators and their rotating refresh tokens (the login
//! throttle is in `throttle`).
//!
//! Refresh tokens are stored only as hashes. Each login starts a family;
//! every refresh marks the presented token used and adds its successor to
//! the family. Presenting a used (or revoked) token again revokes the whole
//! family: either the client or a thief holds a copy.

use crate::entity::{customer, operator, panel_user, refresh_token};
use crate::service::parse_id;
use crate::{Backend, Database, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use domain::holder::AddressInput;
use domain::{Audience, Holder, HolderInput};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::fmt;
use uuid::Uuid;

#[derive(Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub id: Uuid,
    /// As typed, for display and mail.
    pub email: String,
    /// Trimmed and lower-cased by the caller; unique.
    pub email_normalized: String,
    pub password_hash: String,
    pub holder: Holder,
}

#[derive(Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub holder: Holder,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct PanelUserRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub username: String,
    pub password_hash: String,
    /// Set while the password is a temporary one (issued or reissued).
    pub must_change_password: bool,
    pub temporary_password_expires_at: Option<DateTime<Utc>>,
    /// Bumped by every reissue and password change; access tokens carry it
    /// so that older ones stop working.
    pub credentials_version: i32,
}

#[derive(Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
}

// Password hashes stay out of logs: Debug shows every field but the hash.
impl fmt::Debug for NewCustomer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCustomer")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("email_normalized", &self.email_normalized)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CustomerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("holder", &self.holder)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PanelUserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanelUserRecord")
            .field("id", &self.id)
            .field("service_id", &self.service_id)
            .field("username", &self.username)
            .field("must_change_password", &self.must_change_password)
            .field(
                "temporary_password_expires_at",
                &self.temporary_password_expires_at,
            )
            .field("credentials_version", &self.credentials_version)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OperatorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    pub audience: Audience,
    pub subject_id: Uuid,
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was live: it is now used and its successor is stored, in
    /// the same family, for the same audience and subject.
    Rotated {
        audience: Audience,
        subject_id: Uuid,
        family_id: Uuid,
    },
    /// The token had already been used, or its family revoked: the whole
    /// family is now revoked.
    Reused {
        family_id: Uuid,
    },
    Expired,
    Unknown,
}

fn audience_of(text: &str) -> StoreResult<Audience> {
    crate::read_as(text, "audience", Audience::parse)
}

fn to_customer(row: customer::Model) -> StoreResult<CustomerRecord> {
    Ok(CustomerRecord {
        id: parse_id(&row.id)?,
        email: row.email,
        password_hash: row.password_hash,
        holder: crate::holder::read(
            &HolderInput {
                kind: row.holder_kind,
                denominazione: row.denominazione,
                nome: row.nome,
                cognome: row.cognome,
                codice_fiscale: row.codice_fiscale,
                partita_iva: row.partita_iva,
                address: AddressInput {
                    indirizzo: row.indirizzo,
                    numero_civico: row.numero_civico,
                    cap: row.cap,
                    comune: row.comune,
                    provincia: row.provincia,
                    nazione: row.nazione,
                },
                phone: row.phone,
            },
            &format!("customer {}", row.id),
        )?,
        created_at: row.created_at,
    })
}

fn to_panel_user(row: panel_user::Model) -> StoreResult<PanelUserRecord> {
    Ok(PanelUserRecord {
        id: parse_id(&row.id)?,
        service_id: parse_id(&row.service_id)?,
        username: row.username,
        password_hash: row.password_hash,
        must_change_password: row.must_change_password,
        temporary_password_expires_at: row.temporary_password_expires_at,
        credentials_version: row.credentials_version,
    })
}

fn to_operator(row: operator::Model) -> StoreResult<OperatorRecord> {
    Ok(OperatorRecord {
        id: parse_id(&row.id)?,
        username: row.username,
        password_hash: row.password_hash,
    })
}

fn of_subject(audience: Audience, subject_id: Uuid) -> Condition {
    Condition::all()
        .add(refresh_token::Column::Audience.eq(audience.as_str()))
        .add(refresh_token::Column::SubjectId.eq(subject_id.to_string()))
}

fn of_family(family_id: &str) -> Condition {
    Condition::all().add(refresh_token::Column::FamilyId.eq(family_id))
}

/// The customers of the store: `db.customers()`.
#[derive(Clone, Copy)]
pub struct Customers<'a> {
    db: &'a Database,
}

impl Database {
    pub fn customers(&self) -> Customers<'_> {
        Customers { db: self }
    }
}

impl Customers<'_> {
    /// Stores a new account; [`StoreError::Conflict`] when the normalised
    /// e-mail is taken.
    pub async fn insert_customer(&self, new: &NewCustomer) -> StoreResult<CustomerRecord> {
        let now = Utc::now();
        let holder = new.holder.to_input();
        let row = customer::ActiveModel {
            id: Set(new.id.to_string()),
            email: Set(new.email.clone()),
            email_normalized: Set(new.email_normalized.clone()),
            password_hash: Set(new.password_hash.clone()),
            holder_kind: Set(holder.kind),
            denominazione: Set(holder.denominazione),
            nome: Set(holder.nome),
            cognome: Set(holder.cognome),
            codice_fiscale: Set(holder.codice_fiscale),
            partita_iva: Set(holder.partita_iva),
            indirizzo: Set(holder.address.indirizzo),
            numero_civico: Set(holder.address.numero_civico),
            cap: Set(holder.address.cap),
            comune: Set(holder.address.comune),
            provincia: Set(holder.address.provincia),
            nazione: Set(holder.address.nazione),
            phone: Set(holder.phone),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db.conn())
        .await?;
        to_customer(row)
    }

    pub async fn find_customer(&self, id: Uuid) -> StoreResult<Option<CustomerRecord>> {
        customer::Entity::find_by_id(id.to_string())
            .one(&self.db.reads())
            .await?
            .map(to_customer)
            .transpose()
    }

    /// By the normalised e-mail (the caller normalises as at sign-up).
    pub async fn find_customer_by_email(
        &self,
        email_normalized: &str,
    ) -> StoreResult<Option<CustomerRecord>> {
        customer::Entity::find()
            .filter(customer::Column::EmailNormalized.eq(email_normalized))
            .one(self.db.conn())
            .await?
            .map(to_customer)
            .transpose()
    }
}

/// The panel users of the store: `db.panel_users()`.
#[derive(Clone, Copy)]
pub struct PanelUsers<'a> {
    db: &'a Database,
}

impl Database {
    pub fn panel_users(&self) -> PanelUsers<'_> {
        PanelUsers { db: self }
    }
}

impl PanelUsers<'_> {
    /// Creates the service's panel user, or on reissue replaces its password
    /// with the new temporary one (must_change_password = true, new expiry,
    /// credentials_version + 1) and revokes all its refresh tokens — in one
    /// write transaction. A reissue keeps the existing username (`username`
    /// is used only on creation); the record returned has the real one.
    /// The service must exist (foreign key). Two concurrent first issues
    /// for one service: one of them gets [`StoreError::Conflict`].
    pub async fn issue_panel_credentials(
        &self,
        service_id: Uuid,
        username: &str,
        password_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<PanelUserRecord> {
        let tx = self.db.begin_write().await?;
        let mut select = panel_user::Entity::find()
            .filter(panel_user::Column::ServiceId.eq(service_id.to_string()));
        if self.db.backend() == Backend::Postgres {
            select = select.lock_exclusive();
        }
        let now = Utc::now();
        let row = match select.one(&tx).await? {
            None => {
                panel_user::ActiveModel {
                    id: Set(Uuid::new_v4().to_string()),
                    service_id: Set(service_id.to_string()),
                    username: Set(username.to_owned()),
                    password_hash: Set(password_hash.to_owned()),
                    must_change_password: Set(true),
                    temporary_password_expires_at: Set(Some(expires_at)),
                    credentials_version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&tx)
                .await?
            }
            Some(existing) => {
                let version = existing.credentials_version.saturating_add(1);
                let mut active: panel_user::ActiveModel = existing.into();
                active.password_hash = Set(password_hash.to_owned());
                active.must_change_password = Set(true);
                active.temporary_password_expires_at = Set(Some(expires_at));
                active.credentials_version = Set(version);
                active.updated_at = Set(now);
                let row = active.update(&tx).await?;
                let subject = parse_id(&row.id)?;
                self.db
                    .refresh_tokens()
                    .revoke_tokens(&tx, of_subject(Audience::Panel, subject), now)
                    .await?;
                row
            }
        };
        tx.commit().await?;
        to_panel_user(row)
    }

    pub async fn find_panel_user_by_username(
        &self,
        username: &str,
    ) -> StoreResult<Option<PanelUserRecord>> {
        panel_user::Entity::find()
            .filter(panel_user::Column::Username.eq(username))
            .one(self.db.conn())
            .await?
            .map(to_panel_user)
            .transpose()
    }

    pub async fn find_panel_user(&self, id: Uuid) -> StoreResult<Option<PanelUserRecord>> {
        panel_user::Entity::find_by_id(id.to_string())
            .one(&self.db.reads())
            .await?
            .map(to_panel_user)
            .transpose()
    }

    /// The panel user and its service, in one query.
    pub async fn find_panel_user_with_service(
        &self,
        id: Uuid,
    ) -> StoreResult<Option<(PanelUserRecord, crate::service::ServiceRecord)>> {
        let Some((user, service)) = panel_user::Entity::find_by_id(id.to_string())
            .find_also_related(crate::entity::service::Entity)
            .one(&self.db.reads())
            .await?
        else {
            return Ok(None);
        };
        let service = service.ok_or_else(|| {
            StoreError::Corrupt(format!("panel user {} without its service", user.id))
        })?;
        Ok(Some((
            to_panel_user(user)?,
            crate::service::to_record(service)?,
        )))
    }

    pub async fn find_panel_user_by_service(
        &self,
        service_id: Uuid,
    ) -> StoreResult<Option<PanelUserRecord>> {
        panel_user::Entity::find()
            .filter(panel_user::Column::ServiceId.eq(service_id.to_string()))
            .one(self.db.conn())
            .await?
            .map(to_panel_user)
            .transpose()
    }

    /// Sets the chosen password: must_change_password = false, temporary
    /// expiry cleared, credentials_version + 1, and revokes every refresh
    /// token of this panel user — only if credentials_version still equals
    /// `expected_version` (a conditional update); `Ok(false)` when someone
    /// changed the credentials meanwhile, or the user does not exist.
    pub async fn set_panel_password(
        &self,
        panel_user_id: Uuid,
        password_hash: &str,
        expected_version: i32,
    ) -> StoreResult<bool> {
        let tx = self.db.begin_write().await?;
        let now = Utc::now();
        let updated = panel_user::Entity::update_many()
            .col_expr(panel_user::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(panel_user::Column::MustChangePassword, Expr::value(false))
            .col_expr(
                panel_user::Column::TemporaryPasswordExpiresAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(
                panel_user::Column::CredentialsVersion,
                Expr::col(panel_user::Column::CredentialsVersion).add(1),
            )
            .col_expr(panel_user::Column::UpdatedAt, Expr::value(now))
            .filter(panel_user::Column::Id.eq(panel_user_id.to_string()))
            .filter(panel_user::Column::CredentialsVersion.eq(expected_version))
            .exec(&tx)
            .await?;
        if updated.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.db
            .refresh_tokens()
            .revoke_tokens(&tx, of_subject(Audience::Panel, panel_user_id), now)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The operators of the store: `db.operators()`.
#[derive(Clone, Copy)]
pub struct Operators<'a> {
    db: &'a Database,
}

impl Database {
    pub fn operators(&self) -> Operators<'_> {
        Operators { db: self }
    }
}

impl Operators<'_> {
    /// [`StoreError::Conflict`] when the username is taken.
    pub async fn insert_operator(
        &self,
        id: Uuid,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<OperatorRecord> {
        let row = operator::ActiveModel {
            id: Set(id.to_string()),
            username: Set(username.to_owned()),
            password_hash: Set(password_hash.to_owned()),
            created_at: Set(Utc::now()),
        }
        .insert(self.db.conn())
        .await?;
        to_operator(row)
    }

    pub async fn find_operator_by_username(
        &self,
        username: &str,
    ) -> StoreResult<Option<OperatorRecord>> {
        operator::Entity::find()
            .filter(operator::Column::Username.eq(username))
            .one(self.db.conn())
            .await?
            .map(to_operator)
            .transpose()
    }

    pub async fn find_operator(&self, id: Uuid) -> StoreResult<Option<OperatorRecord>> {
        operator::Entity::find_by_id(id.to_string())
            .one(&self.db.reads())
            .await?
            .map(to_operator)
            .transpose()
    }
}

/// The refresh tokens of the store: `db.refresh_tokens()`.
#[derive(Clone, Copy)]
pub struct RefreshTokens<'a> {
    db: &'a Database,
}

impl Database {
    pub fn refresh_tokens(&self) -> RefreshTokens<'_> {
        RefreshTokens { db: self }
    }
}

impl RefreshTokens<'_> {
    /// Stores the first token of a new family (at login).
    pub async fn insert_refresh_token(&self, new: &NewRefreshToken) -> StoreResult<()> {
        refresh_token_row(new, Utc::now())
            .insert(self.db.conn())
            .await?;
        Ok(())
    }

    /// Atomic rotation, in one write transaction: marks `token_hash` used
    /// only if it is unused, unrevoked and unexpired (a conditional UPDATE:
    /// of two racing refreshes exactly one wins, the other sees `Reused`),
    /// then stores `next` in the same family. `next.family_id`,
    /// `next.audience` and `next.subject_id` are overwritten with the old
    /// token's: the caller does not know them before rotating. A token that
    /// exists but was already used or revoked revokes its whole family
    /// (`Reused`); a live but expired one is `Expired`.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next: NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<RotateOutcome> {
        // Unknown tokens (guesses, garbage) never take the write lock.
        let known = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(self.db.conn())
            .await?;
        if known.is_none() {
            return Ok(RotateOutcome::Unknown);
        }
        let tx = self.db.begin_write().await?;
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .exec(&tx)
            .await?
            .rows_affected;
        let Some(old) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(&tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(RotateOutcome::Unknown);
        };
        let family_id = parse_id(&old.family_id)?;
        if claimed > 0 {
            let audience = audience_of(&old.audience)?;
            let subject_id = parse_id(&old.subject_id)?;
            let successor = NewRefreshToken {
                family_id,
                audience,
                subject_id,
                ..next
            };
            refresh_token_row(&successor, now).insert(&tx).await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Rotated {
                audience,
                subject_id,
                family_id,
            });
        }
        if old.used_at.is_some() || old.revoked_at.is_some() {
            self.db
                .refresh_tokens()
                .revoke_tokens(&tx, of_family(&old.family_id), now)
                .await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Reused { family_id });
        }
        tx.rollback().await?;
        if old.expires_at <= now {
            Ok(RotateOutcome::Expired)
        } else {
            // Unreachable in practice: the row is live, yet the update
            // matched nothing.
            Err(StoreError::Corrupt(format!(
                "refresh token {} is live but could not be claimed",
                old.id
            )))
        }
    }

    /// Logout: revokes the family the token belongs to; `Ok(false)` if the
    /// token is unknown (an already revoked family is still `Ok(true)`).
    pub async fn revoke_refresh_family(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some(token) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(token_hash))
            .one(self.db.conn())
            .await?
        else {
            return Ok(false);
        };
        let tx = self.db.begin_write().await?;
        self.db
            .refresh_tokens()
            .revoke_tokens(&tx, of_family(&token.family_id), now)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes every refresh token of a subject (password change),
    /// optionally sparing one family (the caller's new session). Returns how
    /// many tokens were revoked.
    pub async fn revoke_subject_refresh_tokens(
        &self,
        audience: Audience,
        subject_id: Uuid,
        except_family: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut condition = of_subject(audience, subject_id);
        if let Some(family) = except_family {
            condition = condition.add(refresh_token::Column::FamilyId.ne(family.to_string()));
        }
        let tx = self.db.begin_write().await?;
        let revoked = self
            .db
            .refresh_tokens()
            .revoke_tokens(&tx, condition, now)
            .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Revokes the unrevoked tokens `condition` selects, inside `tx`.
    ///
    /// On PostgreSQL the live tokens are locked first, in id order: a
    /// rotation of one of them that is in flight holds its row, so this
    /// waits for it to commit, and the UPDATE that follows (a new snapshot
    /// under READ COMMITTED) then sees and revokes the successor it stored.
    /// Without the lock that successor could escape a logout or a password
    /// change. SQLite write transactions are serialised already.
    pub(crate) async fn revoke_tokens(
        &self,
        tx: &DatabaseTransaction,
        condition: Condition,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        if self.db.backend() == Backend::Postgres {
            let _locked: Vec<String> = refresh_token::Entity::find()
                .select_only()
                .column(refresh_token::Column::Id)
                .filter(condition.clone())
                .filter(refresh_token::Column::UsedAt.is_null())
                .filter(refresh_token::Column::RevokedAt.is_null())
                .order_by_asc(refresh_token::Column::Id)
                .lock_exclusive()
                .into_tuple()
                .all(tx)
                .await?;
        }
        let revoked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(condition)
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(tx)
            .await?;
        Ok(revoked.rows_affected)
    }
}

fn refresh_token_row(new: &NewRefreshToken, now: DateTime<Utc>) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(new.id.to_string()),
        family_id: Set(new.family_id.to_string()),
        audience: Set(new.audience.as_str().to_owned()),
        subject_id: Set(new.subject_id.to_string()),
        token_hash: Set(new.token_hash.clone()),
        expires_at: Set(new.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
}
