//! Support cases (tickets) linked to a Podero end-user, and the fleet
//! watch that opens and resolves the device-connection cases by itself.
//!
//! The wire types of the gateway's `/api/cases` and `/api/watch`
//! endpoints, the queue's query ([`CaseQuery`], the same string in the
//! app's address and the gateway's request) and the rules a new case or a
//! comment must follow, checked in the browser and again at the gateway.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::{bad_value, check_search, query_pairs, query_string};
use crate::i18n::{tr, Lang};
use crate::validation::FieldError;
use crate::DeviceKind;

/// `GET` the queue (filters in the query), `POST` a new case.
pub const CASES_PATH: &str = "/api/cases";
/// The queue's matches as CSV (same query as [`CASES_PATH`]).
pub const CASES_CSV_PATH: &str = "/api/cases.csv";
/// Counts for the top bar's badge and the queue's tabs.
pub const CASES_SUMMARY_PATH: &str = "/api/cases/summary";
/// The accounts a case can be assigned to (admins and staff).
pub const CASES_ASSIGNEES_PATH: &str = "/api/cases/assignees";
/// The fleet watch's coverage.
pub const WATCH_PATH: &str = "/api/watch";
/// The outgoing webhook's delivery log (admins).
pub const WEBHOOK_DELIVERIES_PATH: &str = "/api/webhooks/deliveries";

/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 5_000;
pub const CASES_PER_PAGE: u32 = 50;
pub const CASES_MAX_PER_PAGE: u32 = 500;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

wire_enum!(
    /// What a case is about.
    CaseKind {
        /// A device lost its manufacturer connection (opened by the watch
        /// or by hand; one open case per device).
        DeviceConnection = "device_connection",
        ContactData = "contact_data",
        Question = "question",
        Complaint = "complaint",
        Other = "other",
    }
);

wire_enum!(
    /// Where a case stands.
    CaseState {
        Open = "open",
        WaitingOnCustomer = "waiting_on_customer",
        Resolved = "resolved",
    }
);

wire_enum!(
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

wire_enum!(
    /// What happened on a case (its timeline).
    CaseEventKind {
        /// Opened by a person.
        Opened = "opened",
        /// Opened by the fleet watch: a device lost its connection.
        OpenedByWatch = "opened_by_watch",
        Comment = "comment",
        /// `from` → `to` are [`CaseState`] names.
        StateChanged = "state_changed",
        /// `to` is the assignee's e-mail, `None`: unassigned.
        Assigned = "assigned",
        /// `from` → `to` are [`Priority`] names.
        PriorityChanged = "priority_changed",
        /// A reconnection link (`auth_session`) was created for the device.
        LinkCreated = "link_created",
        /// A message to the customer went out (`to` is the address).
        EmailSent = "email_sent",
        /// A message to the customer could not be sent (`text` says why).
        EmailFailed = "email_failed",
        /// A message to the customer waits in the outbox: no mail server
        /// is configured (`to` is the address).
        EmailHeld = "email_held",
        /// The device is connected again; `duration_secs` it was lost.
        DeviceReconnected = "device_reconnected",
        /// The device lost its connection again while the case was open.
        DeviceLost = "device_lost",
        /// The device was removed from the user.
        DeviceRemoved = "device_removed",
        /// The customer opened their self-service page.
        CustomerOpenedPage = "customer_opened_page",
        /// The customer pressed "Reconnect" on their self-service page.
        CustomerReconnectPressed = "customer_reconnect_pressed",
    }
);

impl CaseKind {
    pub fn label(self, lang: Lang) -> String {
        tr(lang, &format!("case.kind.{}", self.as_str()), &[])
    }
}

impl CaseState {
    pub fn label(self, lang: Lang) -> String {
        tr(lang, &format!("case.state.{}", self.as_str()), &[])
    }

    /// Open or waiting on the customer.
    pub fn is_active(self) -> bool {
        self != CaseState::Resolved
    }
}

impl Priority {
    pub fn label(self, lang: Lang) -> String {
        tr(lang, &format!("case.priority.{}", self.as_str()), &[])
    }
}

/// A back-office account a case is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignee {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

/// One case, as the queue and the user's page list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: i64,
    /// The Podero end-user it belongs to.
    pub user_id: Uuid,
    /// The end-user's name (or e-mail) when the case was last changed.
    pub user_name: String,
    pub device_id: Option<Uuid>,
    pub device_kind: Option<DeviceKind>,
    /// Manufacturer and model, or the kind.
    pub device_label: Option<String>,
    pub kind: CaseKind,
    pub subject: String,
    pub priority: Priority,
    pub state: CaseState,
    pub assignee: Option<Assignee>,
    pub opened_at: DateTime<Utc>,
    /// E-mail of who opened it; `None`: the fleet watch.
    pub opened_by: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Device-connection cases: since when the device is lost.
    pub lost_since: Option<DateTime<Utc>>,
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// E-mail of who did it; `None`: the system (fleet watch, mail).
    pub actor: Option<String>,
    pub kind: CaseEventKind,
    /// A comment's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How long the device was lost (device reconnected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
}

/// A case with its timeline (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDetail {
    pub case: Case,
    pub events: Vec<CaseEvent>,
}

/// Cases per state (under the other filters of a query), and the open
/// cases nobody has taken (the top bar's badge).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseCounts {
    pub open: u64,
    pub waiting_on_customer: u64,
    pub resolved: u64,
    pub open_unassigned: u64,
}

/// A page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseList {
    pub cases: Vec<Case>,
    /// All matches (every page).
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub counts: CaseCounts,
}

/// `POST /api/cases`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCase {
    pub user_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    /// Needed with `device_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_kind: Option<DeviceKind>,
    pub kind: Option<CaseKind>,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// A first comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn check_text(
    field: &str,
    text: &str,
    max: usize,
    empty_key: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    let count = text.trim().chars().count();
    if count == 0 {
        if let Some(key) = empty_key {
            errors.push(FieldError::keyed(field, key, &[]));
        }
    } else if count > max {
        errors.push(FieldError::keyed(
            field,
            "validation.case.too_long",
            &[("max", &max.to_string()), ("count", &count.to_string())],
        ));
    }
}

impl NewCase {
    /// Every broken rule, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.kind.is_none() {
            errors.push(FieldError::keyed(
                "kind",
                "validation.case.kind_missing",
                &[],
            ));
        }
        check_text(
            "subject",
            &self.subject,
            MAX_SUBJECT,
            Some("validation.case.subject_empty"),
            &mut errors,
        );
        if let Some(c) = &self.comment {
            check_text("comment", c, MAX_COMMENT, None, &mut errors);
        }
        if self.device_id.is_some() != self.device_kind.is_some() {
            errors.push(FieldError::keyed(
                "device_id",
                "validation.case.device_with_kind",
                &[],
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `PATCH /api/cases/{id}`: the fields to change (absent: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CaseState>,
    /// An account id; `null` unassigns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::patch"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub assignee: Option<Option<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl CaseUpdate {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Some(s) = &self.subject {
            check_text(
                "subject",
                s,
                MAX_SUBJECT,
                Some("validation.case.subject_empty"),
                &mut errors,
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `POST /api/cases/{id}/comments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewComment {
    pub text: String,
}

impl NewComment {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        check_text(
            "text",
            &self.text,
            MAX_COMMENT,
            Some("validation.case.comment_empty"),
            &mut errors,
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Whose cases: the queue's assignee filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    /// Assigned to the account asking.
    Mine,
    Unassigned,
}

impl AssigneeFilter {
    pub const ALL: [AssigneeFilter; 3] = [
        AssigneeFilter::Anyone,
        AssigneeFilter::Mine,
        AssigneeFilter::Unassigned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeFilter::Anyone => "anyone",
            AssigneeFilter::Mine => "mine",
            AssigneeFilter::Unassigned => "unassigned",
        }
    }
}

/// The queue's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first (the longest waiting on top).
    Oldest,
    /// Most urgent first, then oldest.
    Priority,
    /// Most recently changed first.
    Updated,
}

impl CaseSort {
    pub const ALL: [CaseSort; 4] = [
        CaseSort::Newest,
        CaseSort::Oldest,
        CaseSort::Priority,
        CaseSort::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseSort::Newest => "newest",
            CaseSort::Oldest => "oldest",
            CaseSort::Priority => "priority",
            CaseSort::Updated => "updated",
        }
    }
}

/// Which cases the queue shows: the query string of `/api/cases`,
/// `/api/cases.csv`, `/api/cases/summary` and of the app's `/cases`
/// address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseQuery {
    /// Free text: every word must appear (case-insensitive) in the
    /// subject, the end-user's name or e-mail, the device, a comment, or
    /// be the case's number. Bounded like the users search
    /// ([`check_search`]).
    pub q: String,
    pub user_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    /// `None`: every state.
    pub state: Option<CaseState>,
    pub kind: Option<CaseKind>,
    pub assignee: AssigneeFilter,
    /// Only cases opened at least this many hours ago.
    pub older_than_hours: Option<u32>,
    pub sort: CaseSort,
    pub page: u32,
    pub per_page: u32,
}

impl Default for CaseQuery {
    fn default() -> Self {
        Self {
            q: String::new(),
            user_id: None,
            device_id: None,
            state: None,
            kind: None,
            assignee: AssigneeFilter::Anyone,
            older_than_hours: None,
            sort: CaseSort::Newest,
            page: 1,
            per_page: CASES_PER_PAGE,
        }
    }
}

/// Longest `older_than_hours` (a year).
const MAX_AGE_HOURS: u32 = 24 * 366;

impl CaseQuery {
    /// Parse a query string; unknown parameters are ignored, bad values of
    /// known ones are named with what is allowed.
    pub fn parse(query: &str) -> Result<CaseQuery, Vec<FieldError>> {
        let mut out = CaseQuery::default();
        let mut errors = Vec::new();
        for (key, value) in query_pairs(query) {
            let value = value.as_str();
            let bad = |allowed: &str, args: &[(&str, &str)]| bad_value(&key, value, allowed, args);
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "q" => match check_search(value) {
                    Ok(()) => out.q = value.to_string(),
                    Err(e) => errors.push(e),
                },
                "user_id" => match Uuid::parse_str(value) {
                    Ok(u) => out.user_id = Some(u),
                    Err(_) => errors.push(bad("user_id", &[])),
                },
                "device_id" => match Uuid::parse_str(value) {
                    Ok(u) => out.device_id = Some(u),
                    Err(_) => errors.push(bad("device_id", &[])),
                },
                "state" if value == "all" => out.state = None,
                "state" => match CaseState::parse(value) {
                    Some(s) => out.state = Some(s),
                    None => errors.push(bad("case_state", &[])),
                },
                "kind" if value == "all" => out.kind = None,
                "kind" => match CaseKind::parse(value) {
                    Some(k) => out.kind = Some(k),
                    None => errors.push(bad("case_kind", &[])),
                },
                "assignee" => match AssigneeFilter::ALL
                    .into_iter()
                    .find(|a| a.as_str() == value)
                {
                    Some(a) => out.assignee = a,
                    None => errors.push(bad("assignee", &[])),
                },
                "older_than_hours" => match value.parse::<u32>() {
                    Ok(h) if h <= MAX_AGE_HOURS => {
                        out.older_than_hours = Some(h).filter(|h| *h > 0)
                    }
                    _ => errors.push(bad("hours", &[("max", &MAX_AGE_HOURS.to_string())])),
                },
                "sort" => match CaseSort::ALL.into_iter().find(|s| s.as_str() == value) {
                    Some(s) => out.sort = s,
                    None => errors.push(bad("case_sort", &[])),
                },
                "page" => match value.parse::<u32>() {
                    Ok(p) if p >= 1 => out.page = p,
                    _ => errors.push(bad("page", &[])),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(n) if (1..=CASES_MAX_PER_PAGE).contains(&n) => out.per_page = n,
                    _ => errors.push(bad("per_page", &[("max", &CASES_MAX_PER_PAGE.to_string())])),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The query string (without `?`), defaults left out.
    pub fn to_query_string(&self) -> String {
        let mut parts: Vec<(&str, String)> = Vec::new();
        if !self.q.trim().is_empty() {
            parts.push(("q", self.q.clone()));
        }
        if let Some(u) = self.user_id {
            parts.push(("user_id", u.to_string()));
        }
        if let Some(d) = self.device_id {
            parts.push(("device_id", d.to_string()));
        }
        if let Some(s) = self.state {
            parts.push(("state", s.as_str().into()));
        }
        if let Some(k) = self.kind {
            parts.push(("kind", k.as_str().into()));
        }
        if self.assignee != AssigneeFilter::Anyone {
            parts.push(("assignee", self.assignee.as_str().into()));
        }
        if let Some(h) = self.older_than_hours {
            parts.push(("older_than_hours", h.to_string()));
        }
        if self.sort != CaseSort::Newest {
            parts.push(("sort", self.sort.as_str().into()));
        }
        if self.page != 1 {
            parts.push(("page", self.page.to_string()));
        }
        if self.per_page != CASES_PER_PAGE {
            parts.push(("per_page", self.per_page.to_string()));
        }
        query_string(parts)
    }
}

/// A device as the fleet watch last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchedDevice {
    pub device_id: Uuid,
    pub kind: DeviceKind,
    pub label: String,
    pub is_authenticated: bool,
    pub connection_status: Option<String>,
    pub monitoring_status: Option<String>,
    pub steering_status: Option<String>,
    pub last_data_at: Option<DateTime<Utc>>,
    /// Since when it is lost (`None` while connected).
    pub lost_since: Option<DateTime<Utc>>,
    pub checked_at: DateTime<Utc>,
    /// When the watch found it gone from the user.
    pub removed_at: Option<DateTime<Utc>>,
}

wire_enum!(
    /// A change the watch saw.
    TransitionKind {
        Lost = "lost",
        Reconnected = "reconnected",
        Added = "added",
        Removed = "removed",
    }
);

/// A change of a device's connection (or presence), with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    pub device_id: Uuid,
    pub kind: TransitionKind,
    pub at: DateTime<Utc>,
}

/// `GET /api/watch/users/{user_id}`: what the watch knows of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchedUser {
    pub user_id: Uuid,
    /// When the watch last read this user's devices (`None`: not yet).
    pub checked_at: Option<DateTime<Utc>>,
    pub devices: Vec<WatchedDevice>,
    /// The latest changes, newest first (at most 50).
    pub transitions: Vec<Transition>,
}

/// `GET /api/watch`: the fleet watch's coverage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WatchStatus {
    /// Whether the watch runs (it does unless switched off).
    pub enabled: bool,
    /// Requests per second it may send to Podero.
    pub requests_per_second: f64,
    /// Users with devices, and device lists to read per round.
    pub users: u64,
    pub requests_per_round: u64,
    /// How long a full round takes at this budget and size (seconds).
    pub estimated_round_secs: f64,
    /// The round under way: when it began and how many users are done.
    pub round_started_at: Option<DateTime<Utc>>,
    pub round_users_checked: u64,
    /// The last complete round.
    pub last_round_finished_at: Option<DateTime<Utc>>,
    pub last_round_secs: Option<f64>,
    pub rounds_completed: u64,
    /// Devices known, and lost now.
    pub devices: u64,
    pub devices_lost: u64,
    /// Podero refused or failed: the watch waits until then.
    pub backing_off_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

wire_enum!(
    WebhookDeliveryState {
        Pending = "pending",
        Delivered = "delivered",
        /// Given up after the last retry.
        Failed = "failed",
    }
);

/// One message of the outgoing webhook and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    /// `case.opened` or `case.resolved`.
    pub event: String,
    pub case_id: i64,
    pub created_at: DateTime<Utc>,
    pub state: WebhookDeliveryState,
    pub attempts: u32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status of the last attempt.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let q = CaseQuery {
            q: "heat pump 50%_off".into(),
            user_id: Some(Uuid::from_u128(7)),
            state: Some(CaseState::WaitingOnCustomer),
            kind: Some(CaseKind::DeviceConnection),
            assignee: AssigneeFilter::Unassigned,
            older_than_hours: Some(24),
            sort: CaseSort::Priority,
            page: 3,
            per_page: 100,
            ..Default::default()
        };
        assert_eq!(CaseQuery::parse(&q.to_query_string()).unwrap(), q);
        assert_eq!(CaseQuery::default().to_query_string(), "");
    }

    #[test]
    fn bad_values_are_named() {
        let errs = CaseQuery::parse("state=closed&kind=x&assignee=bob&sort=up&page=0&user_id=1")
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["state", "kind", "assignee", "sort", "page", "user_id"]
        );
        assert!(errs[0].message.contains("open"), "{}", errs[0].message);
    }

    #[test]
    fn search_is_bounded() {
        let long = format!("q={}", "a".repeat(crate::directory::MAX_SEARCH_CHARS + 1));
        let errs = CaseQuery::parse(&long).unwrap_err();
        assert_eq!(errs[0].field, "q");
        assert_eq!(CaseQuery::parse("q=%20wallbox%20").unwrap().q, "wallbox");
    }

    #[test]
    fn new_case_rules() {
        let ok = NewCase {
            user_id: Uuid::nil(),
            kind: Some(CaseKind::Question),
            subject: "Tariff".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let bad = NewCase {
            subject: "  ".into(),
            kind: None,
            device_id: Some(Uuid::nil()),
            comment: Some("x".repeat(MAX_COMMENT + 1)),
            ..ok
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["kind", "subject", "comment", "device_id"]);
    }

    #[test]
    fn every_label_is_in_both_languages() {
        for lang in Lang::ALL {
            for k in CaseKind::ALL {
                assert!(!k.label(lang).starts_with("case."), "{k:?}");
            }
            for s in CaseState::ALL {
                assert!(!s.label(lang).starts_with("case."), "{s:?}");
            }
            for p in Priority::ALL {
                assert!(!p.label(lang).starts_with("case."), "{p:?}");
            }
        }
    }
}
