//! Users of an organisation: end-users, staff and admins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::device::DeviceKind;
use crate::i18n::{tr, Lang};
use crate::validation::{self, FieldError};

/// A user's role. `guest` appears only in Podero's response enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    User,
    Guest,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Staff, Role::User, Role::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::User => "user",
            Role::Guest => "guest",
        }
    }

    /// Human label for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Staff => "Staff",
            Role::User => "End-user",
            Role::Guest => "Guest",
        }
    }

    /// [`Role::label`] in `lang`.
    pub fn label_in(self, lang: Lang) -> String {
        tr(lang, &format!("role.{}", self.as_str()), &[])
    }

    /// Team members are admins and staff.
    pub fn is_team(self) -> bool {
        matches!(self, Role::Admin | Role::Staff)
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as Podero returns it (list, get, by-ext-id, create, update).
///
/// Follows the current API reference; the fields missing from the older
/// response shape (`organization_id`, `num_*`, ...) default, and the older
/// `location_last_updated` is kept when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    pub role: Role,
    pub email: String,
    #[serde(default)]
    pub num_inverters: u32,
    #[serde(default)]
    pub num_heat_pumps: u32,
    #[serde(default)]
    pub num_electric_vehicles: u32,
    #[serde(default)]
    pub num_wallboxes: u32,
    #[serde(default)]
    pub external_user_id: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub is_onboarded: Option<bool>,
    #[serde(default)]
    pub street_and_number: Option<String>,
    #[serde(default)]
    pub street_add_info: Option<String>,
    #[serde(default)]
    pub zip_code: Option<String>,
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    #[serde(default)]
    pub joined_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_last_updated: Option<DateTime<Utc>>,
    /// Set when the user was soft-deleted (archived). Podero does not document
    /// a field for this; the emulator adds it (see its README) and it is
    /// absent for users that are not deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl User {
    /// "First Last", or the e-mail when the user has no name.
    pub fn display_name(&self) -> String {
        User::name_of(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            &self.email,
        )
    }

    /// [`User::display_name`] from the parts.
    pub fn name_of(first: Option<&str>, last: Option<&str>, email: &str) -> String {
        let name = [first, last]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            email.to_string()
        } else {
            name
        }
    }

    /// Total devices over the four types.
    pub fn num_devices(&self) -> u32 {
        self.num_inverters + self.num_heat_pumps + self.num_electric_vehicles + self.num_wallboxes
    }

    /// The device counter of one type.
    pub fn count_of(&self, kind: DeviceKind) -> u32 {
        match kind {
            DeviceKind::HeatPump => self.num_heat_pumps,
            DeviceKind::ElectricVehicle => self.num_electric_vehicles,
            DeviceKind::Wallbox => self.num_wallboxes,
            DeviceKind::Inverter => self.num_inverters,
        }
    }
}

/// Body of `POST /org/{org_id}/users`. Minimal: `{"role": "user", "email": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateUser {
    pub role: Role,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_and_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_add_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// Request name of the country; the response field is `country`.
    #[serde(default, alias = "country", skip_serializing_if = "Option::is_none")]
    pub country_iso2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

impl CreateUser {
    pub fn new(role: Role, email: impl Into<String>) -> Self {
        Self {
            role,
            email: email.into(),
            external_user_id: None,
            first_name: None,
            last_name: None,
            street_and_number: None,
            street_add_info: None,
            zip_code: None,
            town: None,
            country_iso2: None,
            latitude: None,
            longitude: None,
        }
    }

    /// Every field error at once, so a form can mark all bad fields together.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        validation::collect(&mut errors, validation::Email::parse(&self.email).map(drop));
        validation::check_optional_fields(
            &mut errors,
            self.external_user_id.as_deref(),
            self.zip_code.as_deref(),
            self.country_iso2.as_deref(),
            self.latitude,
            self.longitude,
        );
        validation::check_text_fields(
            &mut errors,
            &[
                ("first_name", self.first_name.as_deref()),
                ("last_name", self.last_name.as_deref()),
                ("street_and_number", self.street_and_number.as_deref()),
                ("street_add_info", self.street_add_info.as_deref()),
                ("town", self.town.as_deref()),
            ],
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Body of the partial `PUT /org/{org_id}/users/{user_id}`.
///
/// Only set fields are serialised. Nullable fields are `Option<Option<T>>`:
/// `Some(None)` sends `null` and clears the field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub external_user_id: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub first_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub last_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub street_and_number: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub street_add_info: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub zip_code: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub town: Option<Option<String>>,
    #[serde(
        default,
        alias = "country",
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub country_iso2: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub latitude: Option<Option<f64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub longitude: Option<Option<f64>>,
}

fn flat(v: &Option<Option<String>>) -> Option<&str> {
    v.as_ref().and_then(|o| o.as_deref())
}

impl UpdateUser {
    /// True when the body would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == UpdateUser::default()
    }

    /// Every field error at once. Absent and cleared fields are valid.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Some(email) = &self.email {
            validation::collect(&mut errors, validation::Email::parse(email).map(drop));
        }
        validation::check_optional_fields(
            &mut errors,
            flat(&self.external_user_id),
            flat(&self.zip_code),
            flat(&self.country_iso2),
            self.latitude.flatten(),
            self.longitude.flatten(),
        );
        validation::check_text_fields(
            &mut errors,
            &[
                ("first_name", flat(&self.first_name)),
                ("last_name", flat(&self.last_name)),
                ("street_and_number", flat(&self.street_and_number)),
                ("street_add_info", flat(&self.street_add_info)),
                ("town", flat(&self.town)),
            ],
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
