//! The database's housekeeping, once per cluster: sign-in failure counts
//! whose window has passed, and sessions that ended long ago (each
//! account keeps its latest, for the team page's "last seen").

use std::time::Duration;

use crate::auth::Auth;
use crate::database::now_ms;
use crate::error::GatewayError;

/// The job's lease name.
pub const JOB: &str = "housekeeping";
/// How often it runs.
pub const EVERY: Duration = Duration::from_secs(60);
/// Sessions that expired longer ago than this are deleted.
const KEEP_SESSIONS: Duration = Duration::from_secs(90 * 24 * 3600);

/// One run.
pub async fn run(auth: &Auth) -> Result<(), GatewayError> {
    let now = now_ms();
    let throttle = auth.throttle().prune(now).await?;
    let cutoff = now.saturating_sub(i64::try_from(KEEP_SESSIONS.as_millis()).unwrap_or(0));
    let sessions = auth.sessions().prune(cutoff).await?;
    if throttle + sessions > 0 {
        tracing::debug!(throttle, sessions, "housekeeping removed old rows");
    }
    Ok(())
}
