//! What the gateway tells the browser app about itself (`GET /api/app-info`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which upstream the gateway talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    /// The embedded local Podero emulator (no `PODERO_BASE_URL` configured).
    Emulator,
    /// A real Podero environment.
    Podero,
}

/// Body of `GET /api/app-info`. Never carries credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The one organisation this gateway serves.
    pub org_id: Uuid,
    pub upstream: Upstream,
    /// Gateway version (`CARGO_PKG_VERSION`).
    pub version: String,
}
