//! Request handlers, one module per concern.
//!
//! [`health`] answers `/healthz`, [`app_info`] answers `/api/app-info`,
//! [`directory`] answers the users list, CSV export and reconnection report
//! from the read model, [`proxy`] checks and forwards allow-listed Partner
//! API calls, and [`frontend`] serves the Trunk-built browser app.

pub mod app_info;
pub mod directory;
pub mod frontend;
pub mod health;
pub mod proxy;
