//! Compact storage of the organisation's users for the read model.
//!
//! At 100,000 users a `Vec<User>` is about a million small heap strings;
//! a second copy built during every refresh leaves the allocator so
//! fragmented that the gateway's resident memory stays near the peak. Here
//! every user is one fixed-size [`Row`] and all their text lives in one
//! string per snapshot, so a snapshot is a handful of large allocations that
//! go back to the system whole when it is dropped. A [`User`] is rebuilt
//! only for the rows a request returns.
//!
//! [`Rows`] deserializes straight from Podero's JSON array, one user at a
//! time, so the list is never held as `User` values all at once.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use shared::{DeviceKind, Role, User};
use uuid::Uuid;

/// A text field of a user, as an index into [`Row::texts`].
#[derive(Debug, Clone, Copy)]
enum Text {
    Email,
    ExternalUserId,
    FirstName,
    LastName,
    StreetAndNumber,
    StreetAddInfo,
    ZipCode,
    Town,
    Country,
}

const TEXTS: usize = 9;

/// Where a text field sits in [`Rows::text`]; `len == u32::MAX` is `None`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: Span = Span {
    start: 0,
    len: u32::MAX,
};

/// One user without heap allocations of its own.
#[derive(Debug)]
struct Row {
    id: Uuid,
    organization_id: Option<Uuid>,
    texts: [Span; TEXTS],
    /// Device counters in the order of [`DeviceKind::ALL`].
    counts: [u32; 4],
    latitude: Option<f64>,
    longitude: Option<f64>,
    last_login: Option<DateTime<Utc>>,
    joined_at: Option<DateTime<Utc>>,
    location_last_updated: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    role: Role,
    is_onboarded: Option<bool>,
}

/// All users of one snapshot, in Podero's order.
#[derive(Debug, Default)]
pub struct Rows {
    rows: Vec<Row>,
    text: String,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Append one user.
    pub fn push(&mut self, u: User) {
        let mut texts = [ABSENT; TEXTS];
        let mut put = |field: Text, value: Option<&str>| {
            if let Some(v) = value {
                let start = self.text.len();
                self.text.push_str(v);
                texts[field as usize] = Span {
                    start: start as u32,
                    len: v.len() as u32,
                };
            }
        };
        put(Text::Email, Some(&u.email));
        put(Text::ExternalUserId, u.external_user_id.as_deref());
        put(Text::FirstName, u.first_name.as_deref());
        put(Text::LastName, u.last_name.as_deref());
        put(Text::StreetAndNumber, u.street_and_number.as_deref());
        put(Text::StreetAddInfo, u.street_add_info.as_deref());
        put(Text::ZipCode, u.zip_code.as_deref());
        put(Text::Town, u.town.as_deref());
        put(Text::Country, u.country.as_deref());
        self.rows.push(Row {
            id: u.id,
            organization_id: u.organization_id,
            texts,
            counts: DeviceKind::ALL.map(|k| u.count_of(k)),
            latitude: u.latitude,
            longitude: u.longitude,
            last_login: u.last_login,
            joined_at: u.joined_at,
            location_last_updated: u.location_last_updated,
            deleted_at: u.deleted_at,
            role: u.role,
            is_onboarded: u.is_onboarded,
        });
    }

    /// Give back the spare capacity left by growing (once, when complete).
    fn shrink(&mut self) {
        self.rows.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// The user at `index` (panics when out of range: indexes come from
    /// this snapshot's own indexes).
    pub fn get(&self, index: u32) -> RowRef<'_> {
        RowRef {
            row: &self.rows[index as usize],
            text: &self.text,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().map(|row| RowRef {
            row,
            text: &self.text,
        })
    }
}

impl FromIterator<User> for Rows {
    fn from_iter<I: IntoIterator<Item = User>>(users: I) -> Rows {
        let mut rows = Rows::default();
        users.into_iter().for_each(|u| rows.push(u));
        rows.shrink();
        rows
    }
}

/// Reads a JSON array of users one element at a time.
impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rows, D::Error> {
        struct Users;
        impl<'de> Visitor<'de> for Users {
            type Value = Rows;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of users")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut rows = Rows::default();
                while let Some(u) = seq.next_element::<User>()? {
                    rows.push(u);
                }
                rows.shrink();
                Ok(rows)
            }
        }
        deserializer.deserialize_seq(Users)
    }
}

/// A borrowed view of one stored user.
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    row: &'a Row,
    text: &'a str,
}

impl<'a> RowRef<'a> {
    fn text(self, field: Text) -> Option<&'a str> {
        let span = self.row.texts[field as usize];
        (span.len != u32::MAX)
            .then(|| &self.text[span.start as usize..(span.start + span.len) as usize])
    }

    pub fn id(self) -> Uuid {
        self.row.id
    }
    pub fn role(self) -> Role {
        self.row.role
    }
    pub fn email(self) -> &'a str {
        self.text(Text::Email).unwrap_or_default()
    }
    pub fn external_user_id(self) -> Option<&'a str> {
        self.text(Text::ExternalUserId)
    }
    pub fn first_name(self) -> Option<&'a str> {
        self.text(Text::FirstName)
    }
    pub fn last_name(self) -> Option<&'a str> {
        self.text(Text::LastName)
    }
    pub fn town(self) -> Option<&'a str> {
        self.text(Text::Town)
    }
    pub fn is_onboarded(self) -> Option<bool> {
        self.row.is_onboarded
    }
    pub fn joined_at(self) -> Option<DateTime<Utc>> {
        self.row.joined_at
    }
    pub fn last_login(self) -> Option<DateTime<Utc>> {
        self.row.last_login
    }
    pub fn is_archived(self) -> bool {
        self.row.deleted_at.is_some()
    }
    /// The device counter of one type (as [`User::count_of`]).
    pub fn count_of(self, kind: DeviceKind) -> u32 {
        let slot = DeviceKind::ALL.iter().position(|k| *k == kind);
        slot.map_or(0, |i| self.row.counts[i])
    }
    pub fn num_devices(self) -> u32 {
        self.row.counts.iter().sum()
    }

    /// The user as Podero sent it.
    pub fn to_user(self) -> User {
        let owned = |field| self.text(field).map(str::to_string);
        User {
            id: self.row.id,
            organization_id: self.row.organization_id,
            role: self.row.role,
            email: self.email().to_string(),
            num_inverters: self.count_of(DeviceKind::Inverter),
            num_heat_pumps: self.count_of(DeviceKind::HeatPump),
            num_electric_vehicles: self.count_of(DeviceKind::ElectricVehicle),
            num_wallboxes: self.count_of(DeviceKind::Wallbox),
            external_user_id: owned(Text::ExternalUserId),
            first_name: owned(Text::FirstName),
            last_name: owned(Text::LastName),
            is_onboarded: self.row.is_onboarded,
            street_and_number: owned(Text::StreetAndNumber),
            street_add_info: owned(Text::StreetAddInfo),
            zip_code: owned(Text::ZipCode),
            town: owned(Text::Town),
            country: owned(Text::Country),
            latitude: self.row.latitude,
            longitude: self.row.longitude,
            last_login: self.row.last_login,
            joined_at: self.row.joined_at,
            location_last_updated: self.row.location_last_updated,
            deleted_at: self.row.deleted_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_user() -> User {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(7), "organization_id": Uuid::from_u128(9),
            "role": "staff", "email": "jörg@example.at",
            "num_inverters": 1, "num_heat_pumps": 2, "num_electric_vehicles": 3, "num_wallboxes": 4,
            "external_user_id": "K-1", "first_name": "Jörg", "last_name": "",
            "is_onboarded": true, "street_and_number": "Gasse 1", "street_add_info": "Top 3",
            "zip_code": "1010", "town": "Wien", "country": "AT",
            "latitude": 48.2, "longitude": 16.37,
            "last_login": "2026-11-01T10:00:00Z", "joined_at": "2025-01-01T00:00:00Z",
            "location_last_updated": "2026-01-01T00:00:00Z", "deleted_at": "2026-11-02T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn users_come_back_exactly_as_stored() {
        let full = full_user();
        let bare: User = serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(8), "role": "user", "email": "a@b.at"
        }))
        .unwrap();
        let rows: Rows = [full.clone(), bare.clone()].into_iter().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.get(0).to_user(), full);
        assert_eq!(rows.get(1).to_user(), bare);
        // Some("") stays distinct from None.
        assert_eq!(rows.get(0).last_name(), Some(""));
        assert_eq!(rows.get(1).last_name(), None);
        assert_eq!(rows.get(0).num_devices(), 10);
        assert!(rows.get(0).is_archived());
    }

    #[test]
    fn deserializes_an_array_element_by_element() {
        let json = serde_json::to_string(&vec![full_user(); 3]).unwrap();
        let rows: Rows = serde_json::from_str(&json).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.to_user() == full_user()));
        let err = serde_json::from_str::<Rows>("{}").unwrap_err();
        assert!(err.to_string().contains("an array of users"), "{err}");
    }
}
