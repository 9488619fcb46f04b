//! Durable storage: the organisation in SQLite (`emulator.sqlite`, WAL).
//!
//! Every entity is one row holding its JSON in a `body` column, next to the
//! few columns worth an index (ids, owner, e-mail, external id); a `meta`
//! table names the organisation, the seed and the schema version. A write is
//! a list of [`Record`]s stored in **one transaction**, committed with
//! `synchronous = FULL` before the HTTP answer is sent: an acknowledged write
//! survives a crash, and a crash never leaves half of one. Reads are served
//! from memory (see `state`); the database is read once, at start.
//!
//! Only the runtime query API of sqlx is used (no compile-time checked
//! macros, so building needs no database). Rows of one kind are written with
//! multi-row `INSERT … ON CONFLICT DO UPDATE`, so seeding 100,000 users is a
//! few hundred statements in a single transaction.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::{Building, Device, User};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row};
use uuid::Uuid;

use crate::state::AuthSession;

/// One stored fact. Later records for the same id replace earlier ones.
// Records are built and written one at a time; boxing the large variants
// would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Meta {
        org_id: Uuid,
        seed: u64,
        format: u32,
    },
    User {
        user: User,
    },
    Device {
        user_id: Uuid,
        device: Device,
    },
    Building {
        user_id: Uuid,
        building: Building,
    },
    RemoveBuilding {
        id: Uuid,
    },
    Session {
        session: AuthSession,
    },
}

/// Version of the SQLite schema below (kept in `meta.schema_version`).
pub const FORMAT: u32 = 1;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "emulator.sqlite";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        external_user_id TEXT,
        deleted_at TEXT,
        body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS users_email ON users (lower(email))",
    "CREATE INDEX IF NOT EXISTS users_external_id ON users (external_user_id)",
    "CREATE TABLE IF NOT EXISTS devices (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS devices_user ON devices (user_id)",
    "CREATE TABLE IF NOT EXISTS buildings (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS buildings_user ON buildings (user_id)",
    "CREATE TABLE IF NOT EXISTS auth_sessions (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        body TEXT NOT NULL)",
];

/// Rows per multi-row statement (well under SQLite's 32,766 parameters).
const CHUNK: usize = 400;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The open database. One connection: writes are serialised by the caller.
pub struct Store {
    conn: Option<SqliteConnection>,
}

impl Store {
    /// Open (creating if needed) `emulator.sqlite` under `dir` and read
    /// everything in it: empty if the organisation was never seeded.
    pub async fn open(dir: &Path) -> Result<(Store, Vec<Record>), StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", dir.display())))?;
        let opts = SqliteConnectOptions::from_str("sqlite:")?
            .filename(dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let mut conn = opts.connect().await?;
        for stmt in SCHEMA {
            sqlx::query(stmt).execute(&mut conn).await?;
        }
        let records = load(&mut conn).await?;
        Ok((Store { conn: Some(conn) }, records))
    }

    /// Store `records` in one transaction; returns once it is committed.
    pub async fn write(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| StoreError::Invalid("the emulator's database is closed".into()))?;
        let mut tx = conn.begin().await?;
        let mut users = Vec::new();
        let mut devices = Vec::new();
        let mut buildings = Vec::new();
        let mut sessions = Vec::new();
        for r in records {
            match r {
                Record::Meta {
                    org_id,
                    seed,
                    format,
                } => {
                    for (k, v) in [
                        ("org_id", org_id.to_string()),
                        ("seed", seed.to_string()),
                        ("schema_version", format.to_string()),
                    ] {
                        sqlx::query(
                            "INSERT INTO meta (key, value) VALUES (?, ?)
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        )
                        .bind(k)
                        .bind(v)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Record::User { user } => users.push(vec![
                    Some(user.id.to_string()),
                    Some(user.email.clone()),
                    user.external_user_id.clone(),
                    user.deleted_at.map(|t| t.to_rfc3339()),
                    Some(serde_json::to_string(user)?),
                ]),
                Record::Device { user_id, device } => devices.push(vec![
                    Some(device.common().id.to_string()),
                    Some(user_id.to_string()),
                    Some(device.kind().path_segment().to_string()),
                    Some(serde_json::to_string(device)?),
                ]),
                Record::Building { user_id, building } => buildings.push(vec![
                    Some(building.id.to_string()),
                    Some(user_id.to_string()),
                    Some(serde_json::to_string(building)?),
                ]),
                Record::RemoveBuilding { id } => {
                    // Earlier puts of this building in the same write go first.
                    upsert(&mut tx, "buildings", &["user_id", "body"], &buildings).await?;
                    buildings.clear();
                    sqlx::query("DELETE FROM buildings WHERE id = ?")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                Record::Session { session } => sessions.push(vec![
                    Some(session.id.to_string()),
                    Some(session.device_id.to_string()),
                    Some(serde_json::to_string(session)?),
                ]),
            }
        }
        upsert(
            &mut tx,
            "users",
            &["email", "external_user_id", "deleted_at", "body"],
            &users,
        )
        .await?;
        upsert(&mut tx, "buildings", &["user_id", "body"], &buildings).await?;
        upsert(&mut tx, "devices", &["user_id", "kind", "body"], &devices).await?;
        upsert(&mut tx, "auth_sessions", &["device_id", "body"], &sessions).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Close the connection (checkpointing the WAL); later writes fail.
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the emulator database");
            }
        }
    }
}

/// `INSERT INTO table (id, cols…) VALUES (…), (…) ON CONFLICT (id) DO UPDATE`,
/// in chunks. Updating in place keeps the rowid, hence the original order.
async fn upsert(
    conn: &mut SqliteConnection,
    table: &str,
    cols: &[&str],
    rows: &[Vec<Option<String>>],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let one = format!("({})", vec!["?"; cols.len() + 1].join(", "));
        let sql = format!(
            "INSERT INTO {table} (id, {}) VALUES {} ON CONFLICT (id) DO UPDATE SET {}",
            cols.join(", "),
            vec![one.as_str(); chunk.len()].join(", "),
            cols.iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = q.bind(v.as_deref());
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Everything stored, as records: meta first, then users (in the order they
/// were created), buildings, devices, sessions. Empty if never seeded.
async fn load(conn: &mut SqliteConnection) -> Result<Vec<Record>, StoreError> {
    let meta: Vec<(String, String)> = sqlx::query("SELECT key, value FROM meta")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let Some(org) = get("org_id") else {
        return Ok(Vec::new());
    };
    let format: u32 = get("schema_version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if format != FORMAT {
        return Err(StoreError::Invalid(format!(
            "the database has schema version {format}, this emulator reads {FORMAT}; \
             move the data directory away to start afresh"
        )));
    }
    let org_id = Uuid::parse_str(org).map_err(|e| StoreError::Invalid(format!("org_id: {e}")))?;
    let seed = get("seed").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut records = vec![Record::Meta {
        org_id,
        seed,
        format,
    }];
    for row in sqlx::query("SELECT body FROM users ORDER BY rowid")
        .fetch_all(&mut *conn)
        .await?
    {
        let body: &str = row.try_get(0)?;
        records.push(Record::User {
            user: serde_json::from_str(body)?,
        });
    }
    for row in sqlx::query("SELECT user_id, body FROM buildings ORDER BY rowid")
        .fetch_all(&mut *conn)
        .await?
    {
        records.push(Record::Building {
            user_id: parse_id(row.try_get(0)?)?,
            building: serde_json::from_str(row.try_get(1)?)?,
        });
    }
    for row in sqlx::query("SELECT user_id, body FROM devices ORDER BY rowid")
        .fetch_all(&mut *conn)
        .await?
    {
        records.push(Record::Device {
            user_id: parse_id(row.try_get(0)?)?,
            device: serde_json::from_str(row.try_get(1)?)?,
        });
    }
    for row in sqlx::query("SELECT body FROM auth_sessions ORDER BY rowid")
        .fetch_all(&mut *conn)
        .await?
    {
        records.push(Record::Session {
            session: serde_json::from_str(row.try_get(0)?)?,
        });
    }
    Ok(records)
}

fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Invalid(format!("stored id {s}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    #[tokio::test]
    async fn writes_read_back_in_order_and_upserts_replace() {
        let dir = tempfile::tempdir().unwrap();
        let records = seed::generate(3, 120, seed::reference_time());
        {
            let (mut store, loaded) = Store::open(dir.path()).await.unwrap();
            assert!(loaded.is_empty(), "a fresh directory holds nothing");
            store.write(&records).await.unwrap();
            // Change the first user: it keeps its place.
            let Some(Record::User { user }) = records.get(1).cloned() else {
                panic!("meta then users")
            };
            let mut user = user;
            user.first_name = Some("Changed".into());
            store.write(&[Record::User { user }]).await.unwrap();
            store.close().await;
        }
        let (_store, loaded) = Store::open(dir.path()).await.unwrap();
        let users: Vec<&User> = loaded
            .iter()
            .filter_map(|r| match r {
                Record::User { user } => Some(user),
                _ => None,
            })
            .collect();
        let seeded: Vec<&User> = records
            .iter()
            .filter_map(|r| match r {
                Record::User { user } => Some(user),
                _ => None,
            })
            .collect();
        assert_eq!(users.len(), seeded.len());
        assert_eq!(users[0].first_name.as_deref(), Some("Changed"));
        assert_eq!(users[1].id, seeded[1].id);
        assert_eq!(users.last().unwrap().id, seeded.last().unwrap().id);
        let devices = |rs: &[Record]| {
            rs.iter()
                .filter(|r| matches!(r, Record::Device { .. }))
                .count()
        };
        assert_eq!(devices(&loaded), devices(&records));
        assert!(matches!(loaded[0], Record::Meta { seed: 3, .. }));
    }
}
