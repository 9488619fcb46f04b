//! Staff accounts in the gateway's database: create, find, list, change
//! role or password, remove. E-mail addresses are stored lower-case and
//! are unique. The first start with no account creates an admin
//! ([`bootstrap_admin`]).

use crate::database::Db;
use shared::staff::{Account, StaffRole, TeamMember};
use shared::Lang;
use uuid::Uuid;

use crate::auth::password;
use crate::configuration::Secret;
use crate::database::{failed, now_ms, to_time};
use crate::error::GatewayError;

/// An account as stored (with its password hash: never sent anywhere).
#[derive(Debug, Clone)]
pub struct StoredAccount {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: StaffRole,
    pub password_hash: String,
    pub must_change_password: bool,
    pub podero_user_id: Option<Uuid>,
    pub created_at: i64,
    /// When the one-time password stops working (while
    /// `must_change_password`; `None`: it does not expire).
    pub password_expires_at: Option<i64>,
    /// The language chosen in the app; `None`: the browser's.
    pub language: Option<Lang>,
}

impl StoredAccount {
    /// The one-time password has expired at `now`.
    pub fn one_time_password_expired(&self, now: i64) -> bool {
        self.must_change_password && self.password_expires_at.is_some_and(|t| now >= t)
    }

    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }

    /// What the app is told about the signed-in person.
    pub fn account(&self) -> Account {
        Account {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name(),
            role: self.role,
            must_change_password: self.must_change_password,
            language: self.language,
        }
    }
}

/// What a new account is made of.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: StaffRole,
    pub password_hash: String,
    pub podero_user_id: Option<Uuid>,
    /// When the (one-time) password stops working; `None`: never.
    pub password_expires_at: Option<i64>,
}

/// The columns [`AccountRow`] reads, of `accounts a`.
pub(crate) const COLUMNS: &str = "a.id, a.email, a.first_name, a.last_name, a.role, a.password_hash, a.must_change_password, a.podero_user_id, a.created_at, a.password_expires_at, a.language";

/// An `accounts` row as stored (ids as text, booleans as 0/1).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    password_hash: String,
    must_change_password: i64,
    podero_user_id: Option<String>,
    created_at: i64,
    password_expires_at: Option<i64>,
    language: Option<String>,
}

impl From<AccountRow> for StoredAccount {
    fn from(r: AccountRow) -> Self {
        let uuid = |s: &str| Uuid::parse_str(s).unwrap_or_default();
        StoredAccount {
            id: uuid(&r.id),
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            // A role the code does not know reads as the least powerful.
            role: StaffRole::parse(&r.role).unwrap_or(StaffRole::Viewer),
            password_hash: r.password_hash,
            must_change_password: r.must_change_password != 0,
            podero_user_id: r.podero_user_id.as_deref().map(uuid),
            created_at: r.created_at,
            password_expires_at: r.password_expires_at,
            // A language the code does not know reads as "the browser's".
            language: r.language.as_deref().and_then(Lang::parse),
        }
    }
}

/// A team member's row: the account and its session activity.
#[derive(Debug, sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    account: AccountRow,
    last_seen: Option<i64>,
    active: i64,
}

/// The accounts table.
#[derive(Debug, Clone)]
pub struct Accounts {
    pool: Db,
}

impl Accounts {
    pub fn new(pool: Db) -> Self {
        Self { pool }
    }

    pub async fn count(&self) -> Result<i64, GatewayError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(failed)
    }

    /// Insert a new account that must change its password at first sign-in.
    /// `Ok(None)`: the e-mail address is taken.
    pub async fn create(&self, new: NewAccount<'_>) -> Result<Option<StoredAccount>, GatewayError> {
        let id = Uuid::new_v4();
        let now = now_ms();
        let email = new.email.trim().to_lowercase();
        let result = sqlx::query(
            "INSERT INTO accounts (id, email, first_name, last_name, role, password_hash, must_change_password, podero_user_id, created_at, updated_at, password_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10)",
        )
        .bind(id.to_string())
        .bind(&email)
        .bind(new.first_name.trim())
        .bind(new.last_name.trim())
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(new.podero_user_id.map(|u| u.to_string()))
        .bind(now)
        .bind(now)
        .bind(new.password_expires_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => self.get(id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<StoredAccount>, GatewayError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map(|r| r.map(StoredAccount::from))
        .map_err(failed)
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<StoredAccount>, GatewayError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map(|r| r.map(StoredAccount::from))
        .map_err(failed)
    }

    /// Whether an account is linked to this Podero user (a team member).
    pub async fn is_linked(&self, podero_user_id: Uuid) -> Result<bool, GatewayError> {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM accounts WHERE podero_user_id = $1")
            .bind(podero_user_id.to_string())
            .fetch_one(&self.pool)
            .await
            .map(|n| n > 0)
            .map_err(failed)
    }

    /// Every account with its activity, admins first, then by name.
    pub async fn team(&self, now: i64) -> Result<Vec<TeamMember>, GatewayError> {
        let rows = sqlx::query_as::<_, MemberRow>(&format!(
            "SELECT {COLUMNS}, \
               (SELECT MAX(last_seen_at) FROM sessions s WHERE s.account_id = a.id) AS last_seen, \
               (SELECT COUNT(*) FROM sessions s WHERE s.account_id = a.id AND s.ended_at IS NULL AND s.expires_at > $1) AS active \
             FROM accounts a ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'staff' THEN 1 ELSE 2 END, last_name, first_name, email"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let a = StoredAccount::from(row.account);
                TeamMember {
                    id: a.id,
                    display_name: a.display_name(),
                    one_time_password_expires_at: a
                        .password_expires_at
                        .filter(|_| a.must_change_password)
                        .map(to_time),
                    email: a.email,
                    role: a.role,
                    podero_user_id: a.podero_user_id,
                    must_change_password: a.must_change_password,
                    created_at: to_time(a.created_at),
                    last_seen_at: row.last_seen.map(to_time),
                    active_sessions: row.active.try_into().unwrap_or(0),
                }
            })
            .collect())
    }

    /// Replace the password: one the person chose (`expires_at` `None`),
    /// or a one-time password that must be changed at the next sign-in and
    /// stops working at `expires_at`.
    pub async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        one_time_until: Option<i64>,
    ) -> Result<(), GatewayError> {
        sqlx::query("UPDATE accounts SET password_hash = $1, must_change_password = $2, password_expires_at = $3, updated_at = $4 WHERE id = $5")
            .bind(password_hash)
            .bind(i64::from(one_time_until.is_some()))
            .bind(one_time_until)
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(failed)
    }

    /// The language the account chose (`None`: the browser's).
    pub async fn set_language(&self, id: Uuid, language: Option<Lang>) -> Result<(), GatewayError> {
        sqlx::query("UPDATE accounts SET language = $1, updated_at = $2 WHERE id = $3")
            .bind(language.map(Lang::code))
            .bind(now_ms())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(failed)
    }

    pub async fn set_role(
        &self,
        id: Uuid,
        role: StaffRole,
        podero_user_id: Option<Uuid>,
    ) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE accounts SET role = $1, podero_user_id = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(role.as_str())
        .bind(podero_user_id.map(|u| u.to_string()))
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(failed)
    }

    /// Remove the account (its sessions go with it).
    pub async fn delete(&self, id: Uuid) -> Result<(), GatewayError> {
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(failed)
    }
}

/// Default e-mail of the first admin (`GATEWAY_ADMIN_EMAIL`).
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@backoffice.local";

/// With no account at all, create the first admin: `email`, and the
/// password from `GATEWAY_ADMIN_PASSWORD` or a generated one that is
/// printed once to the log. Either way it must be changed at first sign-in.
pub async fn bootstrap_admin(
    accounts: &Accounts,
    email: &str,
    password: Option<&Secret>,
) -> Result<(), GatewayError> {
    if accounts.count().await? > 0 {
        return Ok(());
    }
    let (plain, generated) = match password {
        Some(p) => (p.expose().to_string(), false),
        None => (password::generate(), true),
    };
    let hash = password::hash(plain.clone()).await?;
    let created = accounts
        .create(NewAccount {
            email,
            first_name: "Back-office",
            last_name: "Admin",
            role: StaffRole::Admin,
            password_hash: hash,
            podero_user_id: None,
            // Nobody could issue a new one if it expired unused.
            password_expires_at: None,
        })
        .await?;
    if created.is_none() {
        // Another replica starting at the same time created it first.
        tracing::info!("the first admin account was created by another replica");
        return Ok(());
    }
    if generated {
        tracing::warn!(
            "first start: created the admin account {email} with the one-time password {plain} \
             (shown only now; it must be changed at the first sign-in)"
        );
    } else {
        tracing::warn!(
            "first start: created the admin account {email} with the password from \
             GATEWAY_ADMIN_PASSWORD (it must be changed at the first sign-in)"
        );
    }
    Ok(())
}
