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
//! [`Rows`] is filled one user at a time while Podero's list arrives
//! ([`crate::podero::Podero::users_streamed`]), so the list is never held
//! as `User` values all at once.

use chrono::{DateTime, Utc};
use shared::{DeviceKind, Role, User};
use uuid::Uuid;

/// A text field of a user, as an index into [`Row::lens`]. A row's texts
/// are stored one after the other in this order from [`Row::text_start`].
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

/// [`Row::lens`]: the field is `None`.
const ABSENT: u16 = u16::MAX;
/// [`Row::lens`]: the field is 65,534 bytes or longer; its length is in
/// [`Rows::long`].
const LONG: u16 = u16::MAX - 1;

/// [`Row::nanos`]: the time is `None`.
const NO_TIME: u32 = u32::MAX;

/// The times of a user, as an index into [`Row::secs`].
#[derive(Debug, Clone, Copy)]
enum Time {
    LastLogin,
    JoinedAt,
    LocationLastUpdated,
    DeletedAt,
}

/// One user without heap allocations of its own, in 128 bytes: texts as
/// lengths from one start, times as seconds and nanoseconds, coordinates
/// with `NaN` for none (JSON has no `NaN`), the organisation as an index.
#[derive(Debug)]
struct Row {
    id: Uuid,
    /// Index into [`Rows::orgs`]; `u32::MAX` is `None`.
    org: u32,
    text_start: u32,
    lens: [u16; TEXTS],
    role: Role,
    is_onboarded: Option<bool>,
    /// Device counters in the order of [`DeviceKind::ALL`].
    counts: [u32; 4],
    latitude: f64,
    longitude: f64,
    /// Seconds since the epoch, per [`Time`].
    secs: [i64; 4],
    /// Nanoseconds of the second, per [`Time`]; [`NO_TIME`] is `None`.
    nanos: [u32; 4],
}

/// All users of one snapshot, in Podero's order.
#[derive(Debug, Default)]
pub struct Rows {
    rows: Vec<Row>,
    text: String,
    /// The organisations named (normally one), and where each is in it.
    orgs: Vec<Uuid>,
    org_index: std::collections::HashMap<Uuid, u32>,
    /// Field lengths of the rows with a [`LONG`] text, by row index.
    long: std::collections::HashMap<u32, [u32; TEXTS]>,
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
        let index = self.rows.len() as u32;
        let text_start = self.text.len() as u32;
        let mut lens = [ABSENT; TEXTS];
        let mut long = [0u32; TEXTS];
        let fields = [
            (Text::Email, Some(u.email.as_str())),
            (Text::ExternalUserId, u.external_user_id.as_deref()),
            (Text::FirstName, u.first_name.as_deref()),
            (Text::LastName, u.last_name.as_deref()),
            (Text::StreetAndNumber, u.street_and_number.as_deref()),
            (Text::StreetAddInfo, u.street_add_info.as_deref()),
            (Text::ZipCode, u.zip_code.as_deref()),
            (Text::Town, u.town.as_deref()),
            (Text::Country, u.country.as_deref()),
        ];
        let mut any_long = false;
        for (field, value) in fields {
            if let Some(v) = value {
                self.text.push_str(v);
                long[field as usize] = v.len() as u32;
                lens[field as usize] = if v.len() >= usize::from(LONG) {
                    any_long = true;
                    LONG
                } else {
                    v.len() as u16
                };
            }
        }
        if any_long {
            self.long.insert(index, long);
        }
        let org = match u.organization_id {
            None => u32::MAX,
            Some(o) => *self.org_index.entry(o).or_insert_with(|| {
                self.orgs.push(o);
                self.orgs.len() as u32 - 1
            }),
        };
        let mut secs = [0i64; 4];
        let mut nanos = [NO_TIME; 4];
        for (time, value) in [
            (Time::LastLogin, u.last_login),
            (Time::JoinedAt, u.joined_at),
            (Time::LocationLastUpdated, u.location_last_updated),
            (Time::DeletedAt, u.deleted_at),
        ] {
            if let Some(t) = value {
                secs[time as usize] = t.timestamp();
                nanos[time as usize] = t.timestamp_subsec_nanos();
            }
        }
        self.rows.push(Row {
            id: u.id,
            org,
            text_start,
            lens,
            role: u.role,
            is_onboarded: u.is_onboarded,
            counts: DeviceKind::ALL.map(|k| u.count_of(k)),
            latitude: u.latitude.unwrap_or(f64::NAN),
            longitude: u.longitude.unwrap_or(f64::NAN),
            secs,
            nanos,
        });
    }

    /// Give back the spare capacity left by growing (once, when complete).
    pub fn shrink(&mut self) {
        self.rows.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// The user at `index` (panics when out of range: indexes come from
    /// this snapshot's own indexes).
    pub fn get(&self, index: u32) -> RowRef<'_> {
        RowRef {
            index,
            row: &self.rows[index as usize],
            rows: self,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().enumerate().map(|(index, row)| RowRef {
            index: index as u32,
            row,
            rows: self,
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

/// A borrowed view of one stored user.
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    index: u32,
    row: &'a Row,
    rows: &'a Rows,
}

impl<'a> RowRef<'a> {
    fn text(self, field: Text) -> Option<&'a str> {
        let len = |f: usize| match self.row.lens[f] {
            ABSENT => 0,
            LONG => self.rows.long[&self.index][f] as usize,
            n => usize::from(n),
        };
        if self.row.lens[field as usize] == ABSENT {
            return None;
        }
        let start = self.row.text_start as usize + (0..field as usize).map(len).sum::<usize>();
        Some(&self.rows.text[start..start + len(field as usize)])
    }

    /// A time as seconds and nanoseconds, which order as the time does
    /// (for sorting without building a `DateTime` per comparison).
    fn time_key(self, time: Time) -> Option<(i64, u32)> {
        let nanos = self.row.nanos[time as usize];
        (nanos != NO_TIME).then(|| (self.row.secs[time as usize], nanos))
    }

    fn time(self, time: Time) -> Option<DateTime<Utc>> {
        match self.row.nanos[time as usize] {
            NO_TIME => None,
            nanos => DateTime::from_timestamp(self.row.secs[time as usize], nanos),
        }
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
        self.time(Time::JoinedAt)
    }
    pub fn last_login(self) -> Option<DateTime<Utc>> {
        self.time(Time::LastLogin)
    }
    pub fn joined_key(self) -> Option<(i64, u32)> {
        self.time_key(Time::JoinedAt)
    }
    pub fn last_login_key(self) -> Option<(i64, u32)> {
        self.time_key(Time::LastLogin)
    }
    pub fn is_archived(self) -> bool {
        self.row.nanos[Time::DeletedAt as usize] != NO_TIME
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
            organization_id: self.rows.orgs.get(self.row.org as usize).copied(),
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
            latitude: Some(self.row.latitude).filter(|v| !v.is_nan()),
            longitude: Some(self.row.longitude).filter(|v| !v.is_nan()),
            last_login: self.last_login(),
            joined_at: self.joined_at(),
            location_last_updated: self.time(Time::LocationLastUpdated),
            deleted_at: self.time(Time::DeletedAt),
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

    /// What the compact row stores differently comes back exactly: texts
    /// longer than a `u16` length, nanoseconds, several organisations,
    /// missing coordinates.
    #[test]
    fn compact_fields_round_trip() {
        let mut long = full_user();
        long.id = Uuid::from_u128(10);
        long.first_name = Some("ä".repeat(40_000));
        long.street_add_info = Some(String::new());
        long.organization_id = Some(Uuid::from_u128(11));
        long.last_login = Some("2026-11-01T10:00:00.123456789Z".parse().unwrap());
        long.latitude = None;
        long.longitude = Some(-0.0);
        let rows: Rows = [full_user(), long.clone(), full_user()]
            .into_iter()
            .collect();
        assert_eq!(rows.get(0).to_user(), full_user());
        assert_eq!(rows.get(1).to_user(), long);
        assert_eq!(rows.get(2).to_user(), full_user());
        assert_eq!(rows.get(1).first_name().map(str::len), Some(80_000));
        assert_eq!(rows.get(1).last_name(), Some(""));
        assert_eq!(rows.orgs.len(), 2);
        assert!(
            std::mem::size_of::<Row>() <= 128,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
