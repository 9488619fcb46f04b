//! The gateway's own database: staff accounts, sessions and the audit trail.
//!
//! Embedded SQLite in `<data dir>/gateway.sqlite`, created and migrated on
//! start (`gateway/migrations/`, embedded in the binary by sqlx). Every
//! commit is on disk before it returns (WAL with `synchronous = FULL`), so
//! an audit record written before a response survives the process being
//! killed right after. Times in the database are milliseconds since the
//! Unix epoch ([`now_ms`]).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::GatewayError;

/// File name of the database inside the data directory.
pub const FILE_NAME: &str = "gateway.sqlite";

/// Open (creating if needed) and migrate the database in `data_dir`.
pub async fn open(data_dir: &Path) -> Result<SqlitePool, sqlx::Error> {
    std::fs::create_dir_all(data_dir).map_err(sqlx::Error::Io)?;
    let path = data_dir.join(FILE_NAME);
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
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
