//! Staff accounts in the gateway's database: create, find, list, change
//! role or password, remove. E-mail addresses are stored lower-case and
//! are unique. The first start with no account creates an admin
//! ([`bootstrap_admin`]).

use shared::staff::{Account, StaffRole, TeamMember};
use sqlx::{Row, SqlitePool};
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
}

impl StoredAccount {
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
}

/// The columns [`from_row`] reads, of `accounts a`.
pub(crate) const COLUMNS: &str = "a.id, a.email, a.first_name, a.last_name, a.role, a.password_hash, a.must_change_password, a.podero_user_id, a.created_at";

pub(crate) fn from_row(row: &sqlx::sqlite::SqliteRow) -> StoredAccount {
    let uuid = |s: String| Uuid::parse_str(&s).unwrap_or_default();
    StoredAccount {
        id: uuid(row.get("id")),
        email: row.get("email"),
        first_name: row.get("first_name"),
        last_name: row.get("last_name"),
        role: StaffRole::parse(row.get::<String, _>("role").as_str()).unwrap_or(StaffRole::Viewer),
        password_hash: row.get("password_hash"),
        must_change_password: row.get::<i64, _>("must_change_password") != 0,
        podero_user_id: row.get::<Option<String>, _>("podero_user_id").map(uuid),
        created_at: row.get("created_at"),
    }
}

/// The accounts table.
#[derive(Debug, Clone)]
pub struct Accounts {
    pool: SqlitePool,
}

impl Accounts {
    pub fn new(pool: SqlitePool) -> Self {
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
            "INSERT INTO accounts (id, email, first_name, last_name, role, password_hash, must_change_password, podero_user_id, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
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
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => self.get(id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<StoredAccount>, GatewayError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM accounts a WHERE a.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map(|r| r.as_ref().map(from_row))
            .map_err(failed)
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<StoredAccount>, GatewayError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts a WHERE a.email = ?"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map(|r| r.as_ref().map(from_row))
        .map_err(failed)
    }

    /// Every account with its activity, admins first, then by name.
    pub async fn team(&self, now: i64) -> Result<Vec<TeamMember>, GatewayError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, \
               (SELECT MAX(last_seen_at) FROM sessions s WHERE s.account_id = a.id) AS last_seen, \
               (SELECT COUNT(*) FROM sessions s WHERE s.account_id = a.id AND s.ended_at IS NULL AND s.expires_at > ?) AS active \
             FROM accounts a ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'staff' THEN 1 ELSE 2 END, last_name, first_name, email"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        Ok(rows
            .iter()
            .map(|row| {
                let a = from_row(row);
                TeamMember {
                    id: a.id,
                    display_name: a.display_name(),
                    email: a.email,
                    role: a.role,
                    podero_user_id: a.podero_user_id,
                    must_change_password: a.must_change_password,
                    created_at: to_time(a.created_at),
                    last_seen_at: row.get::<Option<i64>, _>("last_seen").map(to_time),
                    active_sessions: row.get::<i64, _>("active").try_into().unwrap_or(0),
                }
            })
            .collect())
    }

    /// Replace the password (and clear or set "must change").
    pub async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        must_change: bool,
    ) -> Result<(), GatewayError> {
        sqlx::query("UPDATE accounts SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ?")
            .bind(password_hash)
            .bind(i64::from(must_change))
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
        sqlx::query("UPDATE accounts SET role = ?, podero_user_id = ?, updated_at = ? WHERE id = ?")
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
        sqlx::query("DELETE FROM accounts WHERE id = ?")
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
    accounts
        .create(NewAccount {
            email,
            first_name: "Back-office",
            last_name: "Admin",
            role: StaffRole::Admin,
            password_hash: hash,
            podero_user_id: None,
        })
        .await?;
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
