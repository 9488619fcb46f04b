//! Types of the Podero Partner API v2.0 and the input validation that the
//! browser app and the gateway share.
//!
//! Everything here compiles for `wasm32-unknown-unknown` and for the host, so
//! the same parser rejects a bad e-mail next to the form field and again at
//! the gateway. Responses tolerate unknown fields (Podero adds fields over
//! time); request bodies serialise only what is set, so a partial `PUT`
//! changes exactly the fields the caller meant to change.

pub mod app;
pub mod audit_action;
pub mod auth;
pub mod building;
pub mod cases;
pub mod country;
pub mod device;
pub mod directory;
pub mod error;
pub mod i18n;
pub mod patch;
pub mod self_service;
pub mod staff;
pub mod sync;
pub mod user;
pub mod validation;

pub use app::{AppInfo, Upstream, DEFAULT_VERIFY_SECS};
pub use auth::{AuthSessionRequest, AuthSessionResponse, OAuthError, TokenRequest, TokenResponse};
pub use building::{Building, BuildingWrite};
pub use device::{
    Device, DeviceAction, DeviceCommon, DeviceKind, DeviceModel, DeviceModelWrite, DeviceOwner,
    DeviceType, DeviceWriteCommon, ElectricVehicle, ElectricVehicleWrite, HealthStatus, HeatPump,
    HeatPumpWrite, Inverter, InverterWrite, ResolutionLink, Wallbox, WallboxWrite,
};
pub use error::{ApiError, ErrorDetail, ValidationIssue};
pub use i18n::{tr, Lang};
pub use user::{CreateUser, Role, UpdateUser, User};
pub use validation::{
    CountryCode, Email, ExternalUserId, FieldError, Latitude, Longitude, PostalCode,
};

/// Path prefix of every Partner API route, e.g. `/api/partners/v2.0/org/{org_id}/users`.
pub const API_PREFIX: &str = "/api/partners/v2.0";
