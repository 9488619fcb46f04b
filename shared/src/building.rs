//! Buildings: group a user's devices by location (REFERENCE.md 2.8).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A building as returned by GET / POST / PUT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub property_type: Option<String>,
    #[serde(default)]
    pub property_size_m2: Option<i64>,
    #[serde(default)]
    pub property_age: Option<i64>,
    #[serde(default)]
    pub num_occupants: Option<i64>,
    #[serde(default)]
    pub occupant_type: Option<String>,
    #[serde(default)]
    pub space_heating: Option<String>,
    #[serde(default)]
    pub water_heating: Option<String>,
    #[serde(default)]
    pub photovoltaic: Option<bool>,
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
}

/// Create / partial-update body. `name` is required on create (max 100).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildingWrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub property_type: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub property_size_m2: Option<Option<i64>>,
    /// Integer in the API reference; the older guide sent `"1990-2000"`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub property_age: Option<Option<serde_json::Value>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub num_occupants: Option<Option<i64>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub occupant_type: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub space_heating: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub water_heating: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub photovoltaic: Option<Option<bool>>,
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
    /// `country` in the API reference, `country_iso2` in the older guide.
    #[serde(
        default,
        alias = "country_iso2",
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    pub country: Option<Option<String>>,
}
