//! Storage: the organisation in SQLite (`emulator.sqlite`, WAL), its only
//! copy. Nothing of it is held in memory between requests, so an
//! organisation of a million users costs disk, not RAM.
//!
//! Every entity is one row holding its JSON in a `body` column, next to the
//! few columns worth an index (ids, owner, e-mail key, external id); a
//! `meta` table names the organisation, the seed and the schema version.
//! Rows keep the order they were first written in (`rowid`; an upsert keeps
//! it), which is the order lists answer in.
//!
//! * **Writes** go through the one writer connection ([`Store::write`]): a
//!   list of [`Record`]s in **one transaction**, committed with
//!   `synchronous = FULL` before the HTTP answer is sent, so an acknowledged
//!   write survives a crash and a crash never leaves half of one. The caller
//!   serialises writes (one async lock) and reads what a write depends on
//!   through the same connection ([`Store::writer`]).
//! * **Reads** go through a small pool of connections ([`Store::reader`]);
//!   WAL lets them run while a write is under way, and they see every write
//!   acknowledged before they started.
//! * **Seeding** ([`Seeder`]) fills a fresh database in a side file without
//!   journal or syncs, builds the indexes once at the end (sorting beats
//!   inserting into them), syncs it and renames it into place: a crash
//!   while seeding leaves no database, and the next start seeds again.
//!
//! Only the runtime query API of sqlx is used (no compile-time checked
//! macros, so building needs no database).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::{Building, Device, User};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, Sqlite};
use uuid::Uuid;

use crate::connection::AuthSession;

/// One stored fact. Later records for the same id replace earlier ones.
// Records are built and written one at a time; boxing the large variants
// would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    User { user: User },
    Device { user_id: Uuid, device: Device },
    Building { user_id: Uuid, building: Building },
    RemoveBuilding { id: Uuid },
    Session { session: AuthSession },
}

/// Version of the schema below (kept in `meta.schema_version`). Version 1
/// (no `email_key`) is migrated when opened.
pub const FORMAT: u32 = 2;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "emulator.sqlite";

/// The side file a fresh database is seeded in before it is renamed.
const SEEDING_FILE: &str = "emulator.sqlite.seeding";

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (
        id TEXT NOT NULL,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL,
        external_user_id TEXT,
        deleted_at TEXT,
        body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS devices (
        id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS buildings (
        id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS auth_sessions (
        id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        body TEXT NOT NULL)",
];

/// Built once the seeded rows are in (`ON CONFLICT (id)` needs the unique ones).
const INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX IF NOT EXISTS users_id ON users (id)",
    "CREATE INDEX IF NOT EXISTS users_email_key ON users (email_key)",
    "CREATE INDEX IF NOT EXISTS users_external_id ON users (external_user_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS devices_id ON devices (id)",
    "CREATE INDEX IF NOT EXISTS devices_user ON devices (user_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS buildings_id ON buildings (id)",
    "CREATE INDEX IF NOT EXISTS buildings_user ON buildings (user_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS auth_sessions_id ON auth_sessions (id)",
    SESSIONS_BY_DEVICE,
];

/// The index that finds a device's reconnection sessions (to keep only the
/// newest [`SESSIONS_PER_DEVICE`]); made on open too, for databases seeded
/// before it existed.
const SESSIONS_BY_DEVICE: &str =
    "CREATE INDEX IF NOT EXISTS auth_sessions_device ON auth_sessions (device_id)";

/// Reconnection sessions kept per device: the newest ones (open, used or
/// expired). Each `auth_session` call makes one, so without a bound a
/// client could grow the database without end; an older link than these
/// answers as unknown.
pub const SESSIONS_PER_DEVICE: i64 = 50;

/// A table's name and columns, `id` first.
struct Table {
    name: &'static str,
    cols: &'static [&'static str],
}

const USERS: Table = Table {
    name: "users",
    cols: &[
        "id",
        "email",
        "email_key",
        "external_user_id",
        "deleted_at",
        "body",
    ],
};
const DEVICES: Table = Table {
    name: "devices",
    cols: &["id", "user_id", "kind", "body"],
};
const BUILDINGS: Table = Table {
    name: "buildings",
    cols: &["id", "user_id", "body"],
};
const SESSIONS: Table = Table {
    name: "auth_sessions",
    cols: &["id", "device_id", "body"],
};

/// Rows per multi-row statement (well under SQLite's 32,766 parameters).
const CHUNK: usize = 400;

/// Page cache of the writer (KiB) in use, and while seeding; of a reader.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
const SEEDING_CACHE_KIB: i64 = 256 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;

/// Page size of a seeded database: rows of 0.5–2 KB sit better in 16 KiB
/// pages than in SQLite's default 4 KiB (seeding takes a fifth less CPU).
const PAGE_SIZE: u32 = 16_384;

/// Connections that serve reads at once.
const READERS: u32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("{}: {e}", path.display()))
}

/// What `meta` says about the stored organisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrgMeta {
    pub org_id: Uuid,
    pub seed: u64,
}

/// The open database: the writer connection and the readers' pool.
pub struct Store {
    writer: Option<SqliteConnection>,
    readers: SqlitePool,
}

fn options(path: &Path) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .busy_timeout(Duration::from_secs(10)))
}

impl Store {
    /// Open `emulator.sqlite` under `dir` if it holds an organisation
    /// (migrating schema version 1); `None` if there is none yet, after
    /// removing what an interrupted first start may have left.
    pub async fn open(dir: &Path) -> Result<Option<(Store, OrgMeta)>, StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let mut writer = options(&path)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .pragma("cache_size", (-WRITER_CACHE_KIB).to_string())
            .connect()
            .await?;
        let has_meta: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        )
        .fetch_optional(&mut writer)
        .await?;
        let meta = match has_meta {
            Some(_) => read_meta(&mut writer).await?,
            None => None,
        };
        let Some((meta, format)) = meta else {
            // Never seeded (an earlier start stopped before its seed was
            // renamed into place): start from nothing.
            writer.close().await?;
            for suffix in ["", "-wal", "-shm"] {
                let file = dir.join(format!("{DB_FILE}{suffix}"));
                if file.exists() {
                    std::fs::remove_file(&file).map_err(io(&file))?;
                }
            }
            return Ok(None);
        };
        match format {
            FORMAT => {}
            1 => migrate_from_1(&mut writer).await?,
            other => {
                return Err(StoreError::Invalid(format!(
                    "the database has schema version {other}, this emulator reads {FORMAT}; \
                     move the data directory away to start afresh"
                )))
            }
        }
        sqlx::query(SESSIONS_BY_DEVICE).execute(&mut writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(0)
            .connect_with(options(&path)?.pragma("cache_size", (-READER_CACHE_KIB).to_string()))
            .await?;
        let store = Store {
            writer: Some(writer),
            readers,
        };
        Ok(Some((store, meta)))
    }

    /// The writer connection, for reads a write depends on.
    pub fn writer(&mut self) -> Result<Reads<'_>, StoreError> {
        self.writer.as_mut().map(|c| Reads { c }).ok_or_else(closed)
    }

    /// A reader connection from the pool (wait for one if all are busy).
    pub async fn reader(pool: &SqlitePool) -> Result<PoolConnection<Sqlite>, StoreError> {
        Ok(pool.acquire().await?)
    }

    /// The readers' pool (cheap to clone).
    pub fn readers(&self) -> SqlitePool {
        self.readers.clone()
    }

    /// Store `records` in one transaction; returns once it is committed.
    pub async fn write(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let conn = self.writer.as_mut().ok_or_else(closed)?;
        let mut tx = conn.begin().await?;
        let mut rows = Rows::default();
        for r in records {
            if let Record::RemoveBuilding { id } = r {
                // Earlier puts in the same write go first.
                rows.store(&mut tx, true).await?;
                rows = Rows::default();
                sqlx::query("DELETE FROM buildings WHERE id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            } else {
                rows.push(r)?;
            }
        }
        rows.store(&mut tx, true).await?;
        let mut devices: Vec<Uuid> = Vec::new();
        for r in records {
            if let Record::Session { session } = r {
                if !devices.contains(&session.device_id) {
                    devices.push(session.device_id);
                }
            }
        }
        for device in devices {
            // All but the newest SESSIONS_PER_DEVICE (rowid: order of creation).
            sqlx::query(
                "DELETE FROM auth_sessions WHERE device_id = ?1 AND rowid <= \
                 (SELECT rowid FROM auth_sessions WHERE device_id = ?1 \
                  ORDER BY rowid DESC LIMIT 1 OFFSET ?2)",
            )
            .bind(device.to_string())
            .bind(SESSIONS_PER_DEVICE)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Close the connections (checkpointing the WAL); later writes fail.
    pub async fn close(&mut self) {
        if let Some(conn) = self.writer.take() {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing the emulator database");
            }
        }
        self.readers.close().await;
    }
}

fn closed() -> StoreError {
    StoreError::Invalid("the emulator's database is closed".into())
}

async fn read_meta(conn: &mut SqliteConnection) -> Result<Option<(OrgMeta, u32)>, StoreError> {
    let meta: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM meta")
        .fetch_all(&mut *conn)
        .await?;
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let Some(org) = get("org_id") else {
        return Ok(None);
    };
    let format: u32 = get("schema_version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let org_id = Uuid::parse_str(org).map_err(|e| StoreError::Invalid(format!("org_id: {e}")))?;
    let seed = get("seed").and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Some((OrgMeta { org_id, seed }, format)))
}

/// Schema 1 → 2: the e-mail uniqueness key (Unicode lower case, which
/// SQLite's `lower()` is not) gets its own indexed column.
async fn migrate_from_1(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    tracing::info!("migrating the emulator database from schema version 1 to {FORMAT}");
    let mut tx = conn.begin().await?;
    sqlx::query("ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT ''")
        .execute(&mut *tx)
        .await?;
    let emails: Vec<(i64, String)> = sqlx::query_as("SELECT rowid, email FROM users")
        .fetch_all(&mut *tx)
        .await?;
    for (rowid, email) in emails {
        sqlx::query("UPDATE users SET email_key = ? WHERE rowid = ?")
            .bind(email.to_lowercase())
            .bind(rowid)
            .execute(&mut *tx)
            .await?;
    }
    for stmt in [
        "DROP INDEX IF EXISTS users_email",
        "CREATE INDEX IF NOT EXISTS users_email_key ON users (email_key)",
    ] {
        sqlx::query(stmt).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'schema_version'")
        .bind(FORMAT.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records turned into table rows (each row's values in its table's column
/// order), ready to insert.
#[derive(Default)]
pub struct Rows {
    users: Vec<Vec<Option<String>>>,
    devices: Vec<Vec<Option<String>>>,
    buildings: Vec<Vec<Option<String>>>,
    sessions: Vec<Vec<Option<String>>>,
}

impl Rows {
    /// The rows of `records` (a removal has no row: see [`Store::write`]).
    pub fn of(records: &[Record]) -> Result<Rows, StoreError> {
        let mut rows = Rows::default();
        for r in records {
            rows.push(r)?;
        }
        Ok(rows)
    }

    fn push(&mut self, r: &Record) -> Result<(), StoreError> {
        match r {
            Record::User { user } => self.users.push(vec![
                Some(user.id.to_string()),
                Some(user.email.clone()),
                Some(user.email.to_lowercase()),
                user.external_user_id.clone(),
                user.deleted_at.map(|t| t.to_rfc3339()),
                Some(json(user, 768)?),
            ]),
            Record::Device { user_id, device } => self.devices.push(vec![
                Some(device.common().id.to_string()),
                Some(user_id.to_string()),
                Some(device.kind().path_segment().to_string()),
                Some(json(device, 2048)?),
            ]),
            Record::Building { user_id, building } => self.buildings.push(vec![
                Some(building.id.to_string()),
                Some(user_id.to_string()),
                Some(json(building, 512)?),
            ]),
            Record::Session { session } => self.sessions.push(vec![
                Some(session.id.to_string()),
                Some(session.device_id.to_string()),
                Some(json(session, 384)?),
            ]),
            Record::RemoveBuilding { .. } => {}
        }
        Ok(())
    }

    /// Insert (or, with `upsert`, insert or replace by id) every row.
    async fn store(&self, conn: &mut SqliteConnection, upsert: bool) -> Result<(), StoreError> {
        insert(conn, &USERS, &self.users, upsert).await?;
        insert(conn, &BUILDINGS, &self.buildings, upsert).await?;
        insert(conn, &DEVICES, &self.devices, upsert).await?;
        insert(conn, &SESSIONS, &self.sessions, upsert).await
    }
}

/// `value` as JSON text, written into a buffer of about its usual `size`
/// (growing one from nothing costs a seed of a million users seconds).
fn json<T: Serialize>(value: &T, size: usize) -> Result<String, StoreError> {
    let mut buf = Vec::with_capacity(size);
    serde_json::to_writer(&mut buf, value)?;
    String::from_utf8(buf).map_err(|e| StoreError::Invalid(format!("JSON not UTF-8: {e}")))
}

/// `INSERT INTO table (id, cols…) VALUES (…), (…) [ON CONFLICT (id) DO
/// UPDATE]`, in chunks. Updating in place keeps the rowid, hence the order.
async fn insert(
    conn: &mut SqliteConnection,
    table: &Table,
    rows: &[Vec<Option<String>>],
    upsert: bool,
) -> Result<(), StoreError> {
    let one = format!("({})", vec!["?"; table.cols.len()].join(", "));
    for chunk in rows.chunks(CHUNK) {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            table.cols.join(", "),
            vec![one.as_str(); chunk.len()].join(", "),
        );
        if upsert {
            sql.push_str(" ON CONFLICT (id) DO UPDATE SET ");
            let set: Vec<String> = table.cols[1..]
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            sql.push_str(&set.join(", "));
        }
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

/// Fills a fresh database: [`Seeder::start`], [`Seeder::add`] as often as
/// there are rows, [`Seeder::finish`].
pub struct Seeder {
    conn: SqliteConnection,
    dir: PathBuf,
}

impl Seeder {
    /// A new side file under `dir` (an older one is removed).
    pub async fn start(dir: &Path) -> Result<Seeder, StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(SEEDING_FILE);
        for suffix in ["", "-journal"] {
            let file = dir.join(format!("{SEEDING_FILE}{suffix}"));
            if file.exists() {
                std::fs::remove_file(&file).map_err(io(&file))?;
            }
        }
        // No journal and no syncs: the file becomes the database only once
        // it is complete and synced (see `finish`).
        let mut conn = options(&path)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .pragma("cache_size", (-SEEDING_CACHE_KIB).to_string())
            .pragma("locking_mode", "EXCLUSIVE")
            .pragma("page_size", PAGE_SIZE.to_string())
            .connect()
            .await?;
        for stmt in TABLES {
            sqlx::query(stmt).execute(&mut conn).await?;
        }
        sqlx::query("BEGIN").execute(&mut conn).await?;
        Ok(Seeder {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    /// Insert rows (ids are new: no conflicts to look for).
    pub async fn add(&mut self, rows: &Rows) -> Result<(), StoreError> {
        rows.store(&mut self.conn, false).await
    }

    /// Write `meta`, build the indexes, sync the file and rename it to
    /// `emulator.sqlite`.
    pub async fn finish(mut self, meta: OrgMeta) -> Result<(), StoreError> {
        for (k, v) in [
            ("org_id", meta.org_id.to_string()),
            ("seed", meta.seed.to_string()),
            ("schema_version", FORMAT.to_string()),
        ] {
            sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?)")
                .bind(k)
                .bind(v)
                .execute(&mut self.conn)
                .await?;
        }
        for stmt in INDEXES {
            sqlx::query(stmt).execute(&mut self.conn).await?;
        }
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut self.conn)
            .await?;
        self.conn.close().await?;
        let from = self.dir.join(SEEDING_FILE);
        let to = self.dir.join(DB_FILE);
        std::fs::File::open(&from)
            .and_then(|f| f.sync_all())
            .map_err(io(&from))?;
        std::fs::rename(&from, &to).map_err(io(&to))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(())
    }
}

/// Reads on one connection (a reader's, or the writer's within a write).
pub struct Reads<'c> {
    c: &'c mut SqliteConnection,
}

impl<'c> Reads<'c> {
    pub fn on(c: &'c mut SqliteConnection) -> Self {
        Reads { c }
    }

    async fn body<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        id: impl ToString,
    ) -> Result<Option<T>, StoreError> {
        let body: Option<String> = sqlx::query_scalar(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.c)
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    pub async fn user(&mut self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.body("SELECT body FROM users WHERE id = ?", id).await
    }

    /// The not-archived user whose e-mail is `key` (lower-cased).
    pub async fn active_user_by_email(&mut self, key: &str) -> Result<Option<Uuid>, StoreError> {
        self.active_id(
            "SELECT id FROM users WHERE email_key = ? AND deleted_at IS NULL",
            key,
        )
        .await
    }

    /// The not-archived user with this external id.
    pub async fn active_user_by_external_id(
        &mut self,
        ext: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        self.active_id(
            "SELECT id FROM users WHERE external_user_id = ? AND deleted_at IS NULL",
            ext,
        )
        .await
    }

    async fn active_id(&mut self, sql: &str, key: &str) -> Result<Option<Uuid>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(sql)
            .bind(key)
            .fetch_optional(&mut *self.c)
            .await?;
        id.as_deref().map(parse_id).transpose()
    }

    /// Archived users with this external id.
    pub async fn archived_users_by_external_id(
        &mut self,
        ext: &str,
    ) -> Result<Vec<User>, StoreError> {
        self.bodies(
            "SELECT body FROM users WHERE external_user_id = ? AND deleted_at IS NOT NULL",
            ext.to_string(),
        )
        .await
    }

    /// Users (archived ones with `include_deleted`) after the row `after`,
    /// at most `limit`: their JSON joined by commas, the last row's rowid
    /// and how many there are.
    pub async fn users_json_after(
        &mut self,
        after: i64,
        limit: i64,
        include_deleted: bool,
    ) -> Result<(Vec<u8>, i64, usize), StoreError> {
        let rows = sqlx::query(
            "SELECT rowid, body FROM users WHERE rowid > ? AND (? OR deleted_at IS NULL)
             ORDER BY rowid LIMIT ?",
        )
        .bind(after)
        .bind(include_deleted)
        .bind(limit)
        .fetch_all(&mut *self.c)
        .await?;
        let mut out = Vec::with_capacity(rows.len() * 600);
        let mut last = after;
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            last = row.try_get(0)?;
            let body: &str = row.try_get(1)?;
            out.extend_from_slice(body.as_bytes());
        }
        Ok((out, last, rows.len()))
    }

    pub async fn user_count(&mut self) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *self.c)
            .await?;
        Ok(n as usize)
    }

    /// The user's devices, in the order they were registered.
    pub async fn devices_of(&mut self, user_id: Uuid) -> Result<Vec<Device>, StoreError> {
        self.bodies(
            "SELECT body FROM devices WHERE user_id = ? ORDER BY rowid",
            user_id.to_string(),
        )
        .await
    }

    /// A device and its owner.
    pub async fn device(&mut self, id: Uuid) -> Result<Option<(Uuid, Device)>, StoreError> {
        self.owned(
            "SELECT user_id, body FROM devices WHERE id = ?",
            id.to_string(),
        )
        .await
    }

    /// The device stored as row `rowid` (1 up to [`Reads::device_rows`]).
    pub async fn device_at(&mut self, rowid: i64) -> Result<Option<(Uuid, Device)>, StoreError> {
        self.owned("SELECT user_id, body FROM devices WHERE rowid = ?", rowid)
            .await
    }

    /// How many device rows there are (devices are never removed, only
    /// marked deleted, so rows are numbered 1 to this).
    pub async fn device_rows(&mut self) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT max(rowid) FROM devices")
            .fetch_one(&mut *self.c)
            .await?;
        Ok(n.unwrap_or(0))
    }

    pub async fn buildings_of(&mut self, user_id: Uuid) -> Result<Vec<Building>, StoreError> {
        self.bodies(
            "SELECT body FROM buildings WHERE user_id = ? ORDER BY rowid",
            user_id.to_string(),
        )
        .await
    }

    /// A building and its owner.
    pub async fn building(&mut self, id: Uuid) -> Result<Option<(Uuid, Building)>, StoreError> {
        self.owned(
            "SELECT user_id, body FROM buildings WHERE id = ?",
            id.to_string(),
        )
        .await
    }

    pub async fn session(&mut self, id: Uuid) -> Result<Option<AuthSession>, StoreError> {
        self.body("SELECT body FROM auth_sessions WHERE id = ?", id)
            .await
    }

    /// Every body `sql` selects for `key`, parsed.
    async fn bodies<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        key: String,
    ) -> Result<Vec<T>, StoreError> {
        let bodies: Vec<String> = sqlx::query_scalar(sql)
            .bind(key)
            .fetch_all(&mut *self.c)
            .await?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }

    async fn owned<T, K>(&mut self, sql: &str, key: K) -> Result<Option<(Uuid, T)>, StoreError>
    where
        T: serde::de::DeserializeOwned,
        K: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send,
    {
        let row: Option<(String, String)> = sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(&mut *self.c)
            .await?;
        row.map(|(owner, body)| Ok((parse_id(&owner)?, serde_json::from_str(&body)?)))
            .transpose()
    }
}

fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Invalid(format!("stored id {s}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    fn users(records: &[Record]) -> Vec<&User> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::User { user } => Some(user),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn seeded_rows_read_back_in_order_and_upserts_replace() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Store::open(dir.path()).await.unwrap().is_none(),
            "nothing yet"
        );
        let (meta, records) = seed::generate(3, 120, seed::reference_time());
        let mut seeder = Seeder::start(dir.path()).await.unwrap();
        seeder.add(&Rows::of(&records).unwrap()).await.unwrap();
        seeder.finish(meta).await.unwrap();
        assert!(!dir.path().join(SEEDING_FILE).exists());
        let seeded = users(&records);
        {
            let (mut store, read) = Store::open(dir.path()).await.unwrap().unwrap();
            assert_eq!(read, meta);
            // Change the first user: it keeps its place.
            let mut user = seeded[0].clone();
            user.first_name = Some("Changed".into());
            store.write(&[Record::User { user }]).await.unwrap();
            store.close().await;
        }
        let (store, _) = Store::open(dir.path()).await.unwrap().unwrap();
        let mut conn = Store::reader(&store.readers()).await.unwrap();
        let mut reads = Reads::on(&mut conn);
        let (json, last, n) = reads.users_json_after(0, 1000, true).await.unwrap();
        assert_eq!(n, seeded.len());
        assert_eq!(last, seeded.len() as i64);
        let listed: Vec<User> = serde_json::from_slice(&[b"[", &json[..], b"]"].concat()).unwrap();
        assert_eq!(listed[0].first_name.as_deref(), Some("Changed"));
        assert_eq!(listed[1].id, seeded[1].id);
        assert_eq!(listed.last().unwrap().id, seeded.last().unwrap().id);
        let devices = records
            .iter()
            .filter(|r| matches!(r, Record::Device { .. }))
            .count() as i64;
        assert_eq!(reads.device_rows().await.unwrap(), devices);
        let key = seeded[5].email.to_lowercase();
        assert_eq!(
            reads.active_user_by_email(&key).await.unwrap(),
            Some(seeded[5].id)
        );
    }

    #[tokio::test]
    async fn an_interrupted_first_start_leaves_nothing_to_open() {
        let dir = tempfile::tempdir().unwrap();
        // A seed that stopped half way, and a database that never got its
        // organisation (an earlier start stopped before the rename).
        std::fs::write(dir.path().join(SEEDING_FILE), b"half a seed").unwrap();
        let c = options(&dir.path().join(DB_FILE))
            .unwrap()
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        c.close().await.unwrap();
        assert!(Store::open(dir.path()).await.unwrap().is_none());
        assert!(
            !dir.path().join(DB_FILE).exists(),
            "the empty database is gone"
        );
        let (meta, records) = seed::generate(4, 10, seed::reference_time());
        let mut seeder = Seeder::start(dir.path()).await.unwrap();
        seeder.add(&Rows::of(&records).unwrap()).await.unwrap();
        seeder.finish(meta).await.unwrap();
        let (_, opened) = Store::open(dir.path()).await.unwrap().unwrap();
        assert_eq!(opened, meta);
    }

    #[tokio::test]
    async fn schema_version_1_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut c = options(&dir.path().join(DB_FILE))
                .unwrap()
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            for stmt in [
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, external_user_id TEXT, deleted_at TEXT, body TEXT NOT NULL)",
                "CREATE INDEX users_email ON users (lower(email))",
                "CREATE TABLE devices (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL)",
                "CREATE TABLE buildings (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, body TEXT NOT NULL)",
                "CREATE TABLE auth_sessions (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, body TEXT NOT NULL)",
                "INSERT INTO meta VALUES ('org_id', '6c1b1e43-5c1f-4a8e-9d3b-2f1e0a9b8c7d'), ('seed', '9'), ('schema_version', '1')",
            ] {
                sqlx::query(stmt).execute(&mut c).await.unwrap();
            }
            let (_, records) = seed::generate(9, 3, seed::reference_time());
            let user = users(&records)[0].clone();
            sqlx::query("INSERT INTO users VALUES (?, ?, NULL, NULL, ?)")
                .bind(user.id.to_string())
                .bind("Ärger.Ömer@Example.AT")
                .bind(serde_json::to_string(&user).unwrap())
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
        }
        let (mut store, meta) = Store::open(dir.path()).await.unwrap().unwrap();
        assert_eq!(meta.seed, 9);
        let mut reads = store.writer().unwrap();
        assert!(reads
            .active_user_by_email("ärger.ömer@example.at")
            .await
            .unwrap()
            .is_some());
        store.close().await;
        let (_, again) = Store::open(dir.path()).await.unwrap().unwrap();
        assert_eq!(again, meta, "opens as version 2 now");
    }
}
