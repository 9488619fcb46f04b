//! What the gateway tells the browser app about itself (`GET /api/app-info`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which upstream the gateway talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    /// The embedded local Podero emulator (no `PODERO_BASE_URL` configured).
    Emulator,
    /// A real Podero environment.
    Podero,
}

/// Body of `GET /api/app-info`. Never carries credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppInfo {
    /// The one organisation this gateway serves.
    pub org_id: Uuid,
    pub upstream: Upstream,
    /// Gateway version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// How long "Verify connection" keeps re-reading a device, in seconds
    /// (`GATEWAY_VERIFY_SECS`).
    #[serde(default = "default_verify_secs")]
    pub verify_secs: u32,
}

/// The default of [`AppInfo::verify_secs`].
pub const DEFAULT_VERIFY_SECS: u32 = 60;

fn default_verify_secs() -> u32 {
    DEFAULT_VERIFY_SECS
}
