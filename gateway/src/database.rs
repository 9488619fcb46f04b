//! The gateway's own database: staff accounts, sessions, the sign-in
//! throttle, the audit trail and the leases of once-per-cluster jobs.
//!
//! [`Store`] is chosen by `DATABASE_URL`: unset (or `sqlite://…`) is an
//! embedded SQLite file, `<data dir>/gateway.sqlite` by default, created on
//! start; `postgres://…` is PostgreSQL, shared by any number of gateway
//! replicas. Both are reached through sqlx's `Any` driver ([`Db`]), so
//! every query is written once, in the SQL both understand, with numbered
//! placeholders (`$1`, which SQLite reads too). The schema comes from two
//! migration sets kept equal by a test (`migrations/sqlite`,
//! `migrations/postgres`, same versions, same tables and columns).
//!
//! SQLite commits are on disk before they return (WAL with
//! `synchronous = FULL`), so an audit record written before a response
//! survives the process being killed right after; PostgreSQL's default
//! `synchronous_commit = on` gives the same. Times in the database are
//! milliseconds since the Unix epoch ([`now_ms`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::{Arguments, Executor};

use crate::error::GatewayError;

/// A pool of connections to the gateway's database (SQLite or PostgreSQL).
pub type Db = sqlx::AnyPool;

/// File name of the embedded database inside the data directory.
pub const FILE_NAME: &str = "gateway.sqlite";

/// Where the gateway keeps its state.
#[derive(Clone, PartialEq, Eq)]
pub enum Store {
    /// An embedded SQLite file (one gateway process).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`; any number of replicas).
    Postgres(String),
}

impl Store {
    /// The store for `DATABASE_URL` (`None`: SQLite in `data_dir`).
    pub fn from_url(url: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(data_dir.join(FILE_NAME)));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err("DATABASE_URL: a SQLite database needs a file path, \
                     e.g. sqlite:///var/lib/gateway/gateway.sqlite"
                    .into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(
            "DATABASE_URL must start with postgres:// (PostgreSQL) or sqlite:// (an embedded \
             file); leave it unset for SQLite in GATEWAY_DATA_DIR"
                .into(),
        )
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// Shown in logs and errors: never the password of a PostgreSQL URL.
impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Self::Postgres(url) => match reqwest::Url::parse(url) {
                Ok(u) => write!(
                    f,
                    "PostgreSQL {}:{}{}",
                    u.host_str().unwrap_or("localhost"),
                    u.port().unwrap_or(5432),
                    u.path()
                ),
                Err(_) => f.write_str("PostgreSQL (unparsable URL)"),
            },
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Open (creating the SQLite file if needed) and migrate the database.
/// Replicas starting together against one PostgreSQL database migrate
/// one after the other (sqlx takes an advisory lock).
pub async fn open(store: &Store) -> Result<Db, sqlx::Error> {
    sqlx::any::install_default_drivers();
    match store {
        Store::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            // No test query before each use of a connection (sqlx's
            // default): an embedded file does not drop connections, and
            // the test was one more round trip to a connection's thread
            // for every read of the sessions generation and every audit
            // batch.
            let pool = AnyPoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
                .connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Ok(pool)
        }
        Store::Postgres(url) => {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Ok(pool)
        }
    }
}

/// Settings of every SQLite connection: WAL, commits on disk before they
/// return, foreign keys, and waiting (not failing) while another
/// connection writes.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 5000",
    ] {
        conn.execute(pragma).await?;
    }
    Ok(())
}

/// Whether `db` is the embedded SQLite store (one process, one writer at
/// a time) rather than PostgreSQL.
pub fn is_sqlite(db: &Db) -> bool {
    db.connect_options().database_url.scheme() == "sqlite"
}

/// The connection the audit writer ([`crate::audit`]) commits its
/// batches on. On SQLite, a connection of its own (same file, same
/// settings, opened at its first use): SQLite drops a connection's page
/// cache whenever another connection has written since its last
/// transaction, and the pool hands out its connections in turn, so every
/// audit batch used to read the audit table's and its indexes' pages
/// again; on its own connection they stay cached between batches (and a
/// batch never waits for a pool connection held by a long read). On
/// PostgreSQL, the pool itself.
pub fn audit_writer(db: &Db) -> Db {
    if !is_sqlite(db) {
        return db.clone();
    }
    let url = db.connect_options().database_url.clone();
    AnyPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .test_before_acquire(false)
        // No maintenance task (it would need a runtime here): the one
        // connection is kept for the life of the process.
        .idle_timeout(None)
        .max_lifetime(None)
        .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
        .connect_lazy(url.as_str())
        .unwrap_or_else(|_| db.clone())
}

/// SQL text with numbered placeholders and their values, for queries
/// whose `WHERE` depends on a filter. (sqlx's `QueryBuilder` writes `?`
/// for the `Any` driver, which PostgreSQL does not read.)
#[derive(Default)]
pub struct Sql {
    text: String,
    args: AnyArguments<'static>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: AnyArguments::default(),
        }
    }

    /// Append SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder for `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        // Encoding into the `Any` buffer only stores the value: it
        // cannot fail for the plain types bound here.
        if self.args.add(value).is_ok() {
            let n = self.args.len();
            self.text.push('$');
            self.text.push_str(&n.to_string());
        }
        self
    }

    /// The text and values, for `sqlx::query_with` and friends.
    pub fn build(self) -> (String, AnyArguments<'static>) {
        (self.text, self.args)
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching any text that contains `text`:
/// the `%`, `_` and `\` in `text` match only themselves (the same on
/// SQLite and PostgreSQL).
pub fn like_containing(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Begin a transaction that will write: on SQLite `BEGIN IMMEDIATE`, so
/// it takes the write lock at once and waits for it (`busy_timeout`)
/// instead of failing with "database is locked" when it first reads and
/// then writes while another writer is busy; on PostgreSQL a plain
/// `BEGIN` (rows lock as they are written).
pub async fn begin_write(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, GatewayError> {
    let begun = if is_sqlite(db) {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    };
    begun.map_err(failed)
}

/// Now, as stored in the database.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A stored time as a UTC time.
pub fn to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A database failure as the gateway's error (logged there; the message
/// names no values).
pub fn failed(e: sqlx::Error) -> GatewayError {
    GatewayError::Database(e.to_string())
}

/// A new, empty database on the PostgreSQL server of `admin_url` (a URL
/// of a user allowed to create databases); its URL. For tests and the
/// development cluster.
pub async fn scratch_postgres(admin_url: &str) -> Result<String, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let name = format!("gw_{}", uuid::Uuid::new_v4().simple());
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await?;
    pool.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    pool.close().await;
    let mut url =
        reqwest::Url::parse(admin_url).map_err(|e| sqlx::Error::Configuration(e.into()))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Databases for the storage tests: a SQLite file always, and a fresh
/// PostgreSQL database when `TEST_DATABASE_URL` names a server
/// (`cargo xtask test` starts one and sets it).
#[cfg(test)]
pub mod testing {
    use super::*;

    /// One store under test; its files or database go away with it.
    pub struct TestStore {
        pub name: &'static str,
        pub db: Db,
        _dir: Option<tempfile::TempDir>,
    }

    /// Every store to run a storage test against.
    pub async fn stores() -> Vec<TestStore> {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = open(&Store::Sqlite(dir.path().join(FILE_NAME)))
            .await
            .expect("SQLite opens");
        let mut out = vec![TestStore {
            name: "sqlite",
            db: sqlite,
            _dir: Some(dir),
        }];
        if let Some(url) = postgres_database().await {
            let db = open(&Store::Postgres(url)).await.expect("PostgreSQL opens");
            out.push(TestStore {
                name: "postgres",
                db,
                _dir: None,
            });
        }
        out
    }

    /// A fresh, empty PostgreSQL database on the server of
    /// `TEST_DATABASE_URL`, or `None` without one (then `CI_REQUIRE_POSTGRES=1`
    /// makes it a failure, so CI cannot skip PostgreSQL silently).
    pub async fn postgres_database() -> Option<String> {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is unset"
            );
            return None;
        };
        Some(
            scratch_postgres(&admin)
                .await
                .expect("TEST_DATABASE_URL accepts connections and CREATE DATABASE"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_from_url() {
        let dir = Path::new("/data");
        assert_eq!(
            Store::from_url(None, dir).unwrap(),
            Store::Sqlite(PathBuf::from("/data/gateway.sqlite"))
        );
        assert_eq!(
            Store::from_url(Some("sqlite:///tmp/x.db?mode=rwc"), dir).unwrap(),
            Store::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(Store::from_url(Some("postgres://u:pw@h:5/db"), dir)
            .unwrap()
            .is_postgres());
        let err = Store::from_url(Some("mysql://x"), dir).unwrap_err();
        assert!(err.contains("postgres://"), "{err}");
        assert!(Store::from_url(Some("sqlite://"), dir).is_err());
        let shown = Store::Postgres("postgres://u:secret-pw@db.example:6543/gw".into()).to_string();
        assert_eq!(shown, "PostgreSQL db.example:6543/gw");
    }

    /// Both migration sets have the same versions and build the same
    /// tables with the same columns (name, order, kind, nullability).
    #[tokio::test]
    async fn both_schemas_are_equal() {
        let sqlite_versions: Vec<_> = sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| (m.version, m.description.clone()))
            .collect();
        let pg_versions: Vec<_> = sqlx::migrate!("./migrations/postgres")
            .iter()
            .map(|m| (m.version, m.description.clone()))
            .collect();
        assert_eq!(sqlite_versions, pg_versions);
        let stores = testing::stores().await;
        let mut schemas = Vec::new();
        for s in &stores {
            schemas.push((s.name, schema(s).await));
        }
        let (_, sqlite) = &schemas[0];
        assert!(sqlite.iter().any(|c| c.starts_with("audit.")));
        for (name, other) in &schemas[1..] {
            assert_eq!(sqlite, other, "SQLite and {name} differ");
        }
    }

    /// `table.column kind null|not-null`, in table and column order.
    async fn schema(s: &testing::TestStore) -> Vec<String> {
        let rows: Vec<(String, String, String, i64)> = if s.name == "sqlite" {
            sqlx::query_as(
                "SELECT m.name, p.name, p.type, p.\"notnull\" + p.pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
                 ORDER BY m.name, p.cid",
            )
            .fetch_all(&s.db)
            .await
            .unwrap()
        } else {
            sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, \
                 CAST(CASE is_nullable WHEN 'NO' THEN 1 ELSE 0 END AS BIGINT) \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' \
                 ORDER BY table_name, ordinal_position",
            )
            .fetch_all(&s.db)
            .await
            .unwrap()
        };
        rows.into_iter()
            .map(|(table, column, kind, not_null)| {
                let kind = kind.to_lowercase();
                let kind = if kind.contains("int") {
                    "integer"
                } else if kind.contains("text") || kind.contains("char") {
                    "text"
                } else {
                    "other"
                };
                let null = if not_null > 0 { "not-null" } else { "null" };
                format!("{table}.{column} {kind} {null}")
            })
            .collect()
    }
}
