//! The gateway's view of the organisation's users: the query language of the
//! users list and the answers of the gateway's directory endpoints.
//!
//! Podero's `GET .../users` returns the whole organisation as one array, so
//! the gateway keeps a read model of it and answers paged, sorted and
//! filtered views (`GET /api/directory/users?…`). The query string of that
//! endpoint is the query string of the app's users page as well: one
//! [`UserQuery`] is parsed from the browser's address, sent to the gateway
//! unchanged, and parsed there by the same [`UserQuery::parse`]. Defaults are
//! left out of [`UserQuery::to_query_string`], so a plain list has a plain
//! address.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::device::DeviceKind;
use crate::i18n::{tr, Lang};
use crate::user::{Role, User};
use crate::validation::FieldError;

/// Gateway endpoint: one page of users.
pub const DIRECTORY_USERS_PATH: &str = "/api/directory/users";
/// Gateway endpoint: every user matching a query, as CSV.
pub const DIRECTORY_CSV_PATH: &str = "/api/directory/users.csv";
/// Gateway endpoint: `POST` asks for a fresh snapshot now.
pub const DIRECTORY_REFRESH_PATH: &str = "/api/directory/refresh";
/// Gateway endpoint: `GET` the "Needs reconnection" report, `POST` starts a scan.
pub const DIRECTORY_RECONNECTION_PATH: &str = "/api/directory/reconnection";

/// Page sizes the app offers; any value from 1 to [`MAX_PER_PAGE`] is accepted.
pub const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];
pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

/// Which device type a user must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceFilter {
    /// At least one device of any type.
    Any,
    /// No device at all.
    None,
    /// At least one device of this type.
    Kind(DeviceKind),
}

impl DeviceFilter {
    pub const ALL: [DeviceFilter; 6] = [
        DeviceFilter::Any,
        DeviceFilter::None,
        DeviceFilter::Kind(DeviceKind::HeatPump),
        DeviceFilter::Kind(DeviceKind::ElectricVehicle),
        DeviceFilter::Kind(DeviceKind::Wallbox),
        DeviceFilter::Kind(DeviceKind::Inverter),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceFilter::Any => "any",
            DeviceFilter::None => "none",
            DeviceFilter::Kind(k) => k.path_segment(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeviceFilter::Any => "Any device",
            DeviceFilter::None => "No devices",
            DeviceFilter::Kind(k) => k.plural(),
        }
    }

    /// [`DeviceFilter::label`] in `lang`.
    pub fn label_in(self, lang: Lang) -> String {
        match self {
            DeviceFilter::Any => tr(lang, "device_filter.any", &[]),
            DeviceFilter::None => tr(lang, "device_filter.none", &[]),
            DeviceFilter::Kind(k) => k.plural_in(lang),
        }
    }

    pub fn parse(s: &str) -> Option<DeviceFilter> {
        DeviceFilter::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Does a user with these device counters pass? `count_of` gives the
    /// user's counter of one device type (see [`User::count_of`]).
    pub fn matches(self, count_of: impl Fn(DeviceKind) -> u32) -> bool {
        let any = || DeviceKind::ALL.into_iter().any(|k| count_of(k) > 0);
        match self {
            DeviceFilter::Any => any(),
            DeviceFilter::None => !any(),
            DeviceFilter::Kind(k) => count_of(k) > 0,
        }
    }
}

/// Archived (soft-deleted) users in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Archived {
    /// Only active users (Podero's default).
    #[default]
    Hide,
    /// Active and archived (`include_deleted=true`).
    Include,
    /// Only archived users.
    Only,
}

impl Archived {
    pub const ALL: [Archived; 3] = [Archived::Hide, Archived::Include, Archived::Only];

    pub fn as_str(self) -> &'static str {
        match self {
            Archived::Hide => "hide",
            Archived::Include => "include",
            Archived::Only => "only",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Archived::Hide => "Active users",
            Archived::Include => "Active and archived",
            Archived::Only => "Archived only",
        }
    }

    /// [`Archived::label`] in `lang`.
    pub fn label_in(self, lang: Lang) -> String {
        tr(lang, &format!("archived.{}", self.as_str()), &[])
    }

    pub fn parse(s: &str) -> Option<Archived> {
        Archived::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Column the list is sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Last name, then first name, then e-mail.
    #[default]
    Name,
    Email,
    ExternalId,
    Role,
    Town,
    Devices,
    Joined,
    LastLogin,
}

impl SortKey {
    pub const ALL: [SortKey; 8] = [
        SortKey::Name,
        SortKey::Email,
        SortKey::ExternalId,
        SortKey::Role,
        SortKey::Town,
        SortKey::Devices,
        SortKey::Joined,
        SortKey::LastLogin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Email => "email",
            SortKey::ExternalId => "customer_number",
            SortKey::Role => "role",
            SortKey::Town => "town",
            SortKey::Devices => "devices",
            SortKey::Joined => "joined",
            SortKey::LastLogin => "last_login",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "Name",
            SortKey::Email => "E-mail",
            SortKey::ExternalId => "Customer number",
            SortKey::Role => "Role",
            SortKey::Town => "Town",
            SortKey::Devices => "Devices",
            SortKey::Joined => "Joined",
            SortKey::LastLogin => "Last login",
        }
    }

    /// [`SortKey::label`] in `lang`.
    pub fn label_in(self, lang: Lang) -> String {
        tr(lang, &format!("sort_key.{}", self.as_str()), &[])
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One view of the users list: search, filters, sort and page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserQuery {
    /// Free text over name, e-mail, customer number and town; case- and
    /// accent-insensitive, every word must match.
    pub q: String,
    /// Only these roles (empty: all).
    pub roles: Vec<Role>,
    pub device: Option<DeviceFilter>,
    /// `Some(true)`: only onboarded users; `Some(false)`: only not onboarded.
    pub onboarded: Option<bool>,
    /// Only users with at least one device whose manufacturer connection is
    /// lost (from the gateway's reconnection scan).
    pub lost: bool,
    pub archived: Archived,
    pub sort: SortKey,
    pub desc: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            q: String::new(),
            roles: Vec::new(),
            device: None,
            onboarded: None,
            lost: false,
            archived: Archived::Hide,
            sort: SortKey::Name,
            desc: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl UserQuery {
    /// Parse a query string (without the leading `?`). Unknown parameters
    /// are ignored (the app's address may carry others); a bad value of a
    /// known one is an error naming the parameter and the values allowed.
    pub fn parse(query: &str) -> Result<UserQuery, Vec<FieldError>> {
        let mut out = UserQuery::default();
        let mut errors = Vec::new();
        for (key, value) in query_pairs(query) {
            let value = value.as_str();
            let bad = |allowed: &str, args: &[(&str, &str)]| bad_value(&key, value, allowed, args);
            match key.as_str() {
                "q" => match check_search(value) {
                    Ok(()) => out.q = value.to_string(),
                    Err(e) => errors.push(e),
                },
                "role" => {
                    for r in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                        match Role::parse(r) {
                            Some(role) if !out.roles.contains(&role) => out.roles.push(role),
                            Some(_) => {}
                            None => errors.push(bad("roles", &[])),
                        }
                    }
                }
                "device" if value.is_empty() => out.device = None,
                "device" => match DeviceFilter::parse(value) {
                    Some(d) => out.device = Some(d),
                    None => errors.push(bad("device", &[])),
                },
                "onboarded" => match value {
                    "" => out.onboarded = None,
                    "true" | "yes" => out.onboarded = Some(true),
                    "false" | "no" => out.onboarded = Some(false),
                    _ => errors.push(bad("boolean", &[])),
                },
                "lost" => match value {
                    "" | "false" => out.lost = false,
                    "true" => out.lost = true,
                    _ => errors.push(bad("boolean", &[])),
                },
                "archived" => match Archived::parse(value) {
                    Some(a) => out.archived = a,
                    None => errors.push(bad("archived", &[])),
                },
                // Podero's own name for "archived too".
                "include_deleted" => match value {
                    "true" => out.archived = Archived::Include,
                    "false" => out.archived = Archived::Hide,
                    _ => errors.push(bad("boolean", &[])),
                },
                "sort" => match SortKey::parse(value) {
                    Some(s) => out.sort = s,
                    None => errors.push(bad("sort", &[])),
                },
                "dir" => match value {
                    "asc" => out.desc = false,
                    "desc" => out.desc = true,
                    _ => errors.push(bad("direction", &[])),
                },
                "page" => match value.parse::<u32>() {
                    Ok(p) if p >= 1 => out.page = p,
                    _ => errors.push(bad("page", &[])),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => out.per_page = n,
                    _ => errors.push(bad("per_page", &[("max", &MAX_PER_PAGE.to_string())])),
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

    /// The query string (without `?`), defaults left out; `""` for the
    /// default view.
    pub fn to_query_string(&self) -> String {
        let d = UserQuery::default();
        let mut parts: Vec<(&str, String)> = Vec::new();
        if !self.q.trim().is_empty() {
            parts.push(("q", self.q.clone()));
        }
        if !self.roles.is_empty() {
            let roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
            parts.push(("role", roles.join(",")));
        }
        if let Some(device) = self.device {
            parts.push(("device", device.as_str().into()));
        }
        if let Some(o) = self.onboarded {
            parts.push(("onboarded", o.to_string()));
        }
        if self.lost {
            parts.push(("lost", "true".into()));
        }
        if self.archived != d.archived {
            parts.push(("archived", self.archived.as_str().into()));
        }
        if self.sort != d.sort {
            parts.push(("sort", self.sort.as_str().into()));
        }
        if self.desc {
            parts.push(("dir", "desc".into()));
        }
        if self.page != d.page {
            parts.push(("page", self.page.to_string()));
        }
        if self.per_page != d.per_page {
            parts.push(("per_page", self.per_page.to_string()));
        }
        query_string(parts)
    }

    /// The same view without paging (CSV export, and a changed filter starts
    /// again at page 1).
    pub fn first_page(&self) -> UserQuery {
        UserQuery {
            page: 1,
            ..self.clone()
        }
    }

    /// Whether anything narrows the list (for "no match" versus "no users").
    pub fn is_filtered(&self) -> bool {
        !self.q.trim().is_empty()
            || !self.roles.is_empty()
            || self.device.is_some()
            || self.onboarded.is_some()
            || self.lost
            || self.archived == Archived::Only
    }
}

/// Lower-case, strip accents (ä → a, ß → ss, é → e, ø → o...), so "Müller",
/// "muller" and "MÜLLER" are the same to the search. Used on both the
/// searched text and the search words.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`], appended to `out` (no allocation of its own).
pub fn fold_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä'
            | 'Å' | 'Ā' | 'Ă' | 'Ą' => out.push('a'),
            'æ' | 'Æ' => out.push_str("ae"),
            'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => out.push('c'),
            'ď' | 'đ' | 'Ď' | 'Đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė'
            | 'Ę' | 'Ě' => out.push('e'),
            'ğ' | 'Ğ' => out.push('g'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
                out.push('i')
            }
            'ł' | 'ľ' | 'ĺ' | 'Ł' | 'Ľ' | 'Ĺ' => out.push('l'),
            'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø'
            | 'Ō' | 'Ő' => out.push('o'),
            'œ' | 'Œ' => out.push_str("oe"),
            'ŕ' | 'ř' | 'Ŕ' | 'Ř' => out.push('r'),
            'ś' | 'š' | 'ş' | 'ș' | 'Ś' | 'Š' | 'Ş' | 'Ș' => out.push('s'),
            'ß' | 'ẞ' => out.push_str("ss"),
            'ť' | 'ţ' | 'ț' | 'Ť' | 'Ţ' | 'Ț' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů'
            | 'Ű' | 'Ų' => out.push('u'),
            'ý' | 'ÿ' | 'Ý' | 'Ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => out.push('z'),
            other => out.extend(other.to_lowercase()),
        }
    }
}

/// The `key=value` pairs of a query string (a leading `?` is ignored),
/// decoded by `form_urlencoded` (`+` is a space), values trimmed; empty
/// pairs are skipped.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
}

/// A query parameter's bad value, naming the values allowed: `allowed`
/// names the catalog message `validation.query.{allowed}` (`boolean`,
/// `page`, `per_page` with `max`, `sort`...), which gets `value` (cut to
/// 40 characters), `key` and `args`.
pub fn bad_value(key: &str, value: &str, allowed: &str, args: &[(&str, &str)]) -> FieldError {
    let shown: String = value.chars().take(40).collect();
    let shown = if shown.len() < value.len() {
        format!("{shown}…")
    } else {
        shown
    };
    let mut all: Vec<(&str, &str)> = vec![("value", &shown), ("key", key)];
    all.extend_from_slice(args);
    FieldError::keyed(key, &format!("validation.query.{allowed}"), &all)
}

/// A query string (without `?`) of `key=value` pairs, encoded by
/// `form_urlencoded`.
pub fn query_string(parts: Vec<(&str, String)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in parts {
        out.append_pair(k, &v);
    }
    out.finish()
}

/// Percent-encode a value for a URL component other than a query string
/// (a path segment, a `mailto:` field): everything but RFC 3986's
/// unreserved characters, spaces as `%20`.
pub fn percent_encode(value: &str) -> String {
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, COMPONENT).to_string()
}

/// Longest search text, in characters, and most words: the search runs
/// over every user for every word, so its cost is bounded here.
pub const MAX_SEARCH_CHARS: usize = 200;
pub const MAX_SEARCH_WORDS: usize = 12;

/// Check a search text against [`MAX_SEARCH_CHARS`] and
/// [`MAX_SEARCH_WORDS`] (the app says the same next to the search box).
pub fn check_search(q: &str) -> Result<(), FieldError> {
    let chars = q.chars().count();
    let words = q.split_whitespace().count();
    if chars > MAX_SEARCH_CHARS || words > MAX_SEARCH_WORDS {
        return Err(FieldError::keyed(
            "q",
            "validation.search.too_long",
            &[
                ("characters", &chars.to_string()),
                ("words", &words.to_string()),
                ("max_characters", &MAX_SEARCH_CHARS.to_string()),
                ("max_words", &MAX_SEARCH_WORDS.to_string()),
            ],
        ));
    }
    Ok(())
}

/// How current the gateway's snapshot of the users is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freshness {
    /// When the snapshot being served was taken (`None`: none yet).
    pub loaded_at: Option<DateTime<Utc>>,
    /// How long fetching and indexing it took, in milliseconds.
    pub build_ms: Option<u64>,
    /// A refresh is under way; the snapshot served meanwhile is the old one.
    pub refreshing: bool,
    /// Why the last refresh failed, if it did (the older snapshot is kept).
    pub last_error: Option<String>,
    /// Seconds between background refreshes.
    pub interval_secs: u64,
}

/// One user in a page of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRow {
    pub user: User,
    /// Devices whose manufacturer connection is lost, from the last
    /// reconnection scan (`None`: not scanned yet).
    pub lost_devices: Option<u32>,
}

/// Answer of `GET /api/directory/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    /// Users matching the query (all pages).
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
    /// Active users in the organisation.
    pub active_users: usize,
    /// Archived users in the organisation.
    pub archived_users: usize,
    pub freshness: Freshness,
    /// State of the reconnection scan (the `lost` filter depends on it).
    pub scan: ScanProgress,
}

impl UserPage {
    /// Number of pages (at least 1).
    pub fn pages(&self) -> u32 {
        let per = self.per_page.max(1) as usize;
        (self.total.div_ceil(per)).max(1) as u32
    }
}

/// Where the reconnection scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    /// Never run.
    #[default]
    Idle,
    Running,
    Done,
    /// Stopped by an error (see `last_error`); partial results are kept.
    Failed,
}

/// Progress of the scan that reads every user's devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanProgress {
    pub state: ScanState,
    /// Users with at least one device when the scan started.
    pub users_total: usize,
    pub users_scanned: usize,
    /// Device lists that could not be read (the scan goes on).
    pub failures: usize,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Requests to Podero in flight at most.
    pub concurrency: usize,
}

/// A device whose manufacturer connection is lost, and its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LostDevice {
    pub user_id: Uuid,
    pub user_name: String,
    pub email: String,
    pub external_user_id: Option<String>,
    pub kind: DeviceKind,
    pub device_id: Uuid,
    /// Make and model (or the kind when unknown).
    pub label: String,
    pub lifecycle_state: Option<String>,
    /// When the device last sent data.
    pub last_data_at: Option<DateTime<Utc>>,
    /// The link Podero already has for the customer, if any.
    pub reconnection_link: Option<String>,
}

/// Answer of `GET /api/directory/reconnection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconnectionReport {
    pub scan: ScanProgress,
    /// Found so far (complete when `scan.state` is `done`), users by name.
    pub devices: Vec<LostDevice>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let q = UserQuery {
            q: "Müller & Söhne".into(),
            roles: vec![Role::Admin, Role::Staff],
            device: Some(DeviceFilter::Kind(DeviceKind::HeatPump)),
            onboarded: Some(false),
            lost: true,
            archived: Archived::Include,
            sort: SortKey::Town,
            desc: true,
            page: 3,
            per_page: 100,
        };
        let s = q.to_query_string();
        assert_eq!(UserQuery::parse(&s).unwrap(), q);
        assert_eq!(UserQuery::default().to_query_string(), "");
        assert_eq!(UserQuery::parse("").unwrap(), UserQuery::default());
    }

    #[test]
    fn bad_values_are_named() {
        let errs = UserQuery::parse("sort=height&per_page=0&role=king&x=1").unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sort", "per_page", "role"]);
        assert!(errs[0].message.contains("name, email"));
    }

    #[test]
    fn decoding() {
        let pairs: Vec<_> = query_pairs("?q=a+b%C3%BC%2&x=%&y=100%25").collect();
        assert_eq!(pairs[0], ("q".into(), "a bü%2".into()));
        assert_eq!(pairs[1], ("x".into(), "%".into()));
        assert_eq!(pairs[2], ("y".into(), "100%".into()));
        assert_eq!(percent_encode("a b/ü"), "a%20b%2F%C3%BC");
    }

    #[test]
    fn search_is_bounded() {
        let long = "a".repeat(MAX_SEARCH_CHARS + 1);
        let errs = UserQuery::parse(&format!("q={long}")).unwrap_err();
        assert_eq!(errs[0].field, "q");
        assert!(errs[0].message.contains("at most 200 characters"));
        let words = ["w"; MAX_SEARCH_WORDS + 1].join("+");
        assert_eq!(
            UserQuery::parse(&format!("q={words}")).unwrap_err()[0].field,
            "q"
        );
        let ok = ["w"; MAX_SEARCH_WORDS].join("+");
        assert!(UserQuery::parse(&format!("q={ok}")).is_ok());
    }

    #[test]
    fn labels_in_german_and_english() {
        use crate::i18n::Lang;
        for f in DeviceFilter::ALL {
            assert_eq!(f.label_in(Lang::En), f.label());
        }
        for a in Archived::ALL {
            assert_eq!(a.label_in(Lang::En), a.label());
        }
        for k in SortKey::ALL {
            assert_eq!(k.label_in(Lang::En), k.label());
        }
        for k in DeviceKind::ALL {
            assert_eq!(k.label_in(Lang::En), k.label());
            assert_eq!(k.plural_in(Lang::En), k.plural());
        }
        for r in Role::ALL {
            assert_eq!(r.label_in(Lang::En), r.label());
        }
        assert_eq!(Role::User.label_in(Lang::De), "Endkunde");
        assert_eq!(DeviceKind::HeatPump.label_in(Lang::De), "Wärmepumpe");
        assert_eq!(DeviceKind::ElectricVehicle.label_in(Lang::De), "E-Auto");
        assert_eq!(DeviceKind::Inverter.label_in(Lang::De), "PV-Wechselrichter");
        assert_eq!(
            DeviceFilter::Kind(DeviceKind::Wallbox).label_in(Lang::De),
            "Wallboxen"
        );
        assert_eq!(Archived::Only.label_in(Lang::De), "Nur archivierte");
        assert_eq!(SortKey::ExternalId.label_in(Lang::De), "Kundennummer");
        let errs = UserQuery::parse("dir=up").unwrap_err();
        assert_eq!(
            errs[0].message,
            "'up' is not a valid value for dir; use asc or desc"
        );
        assert_eq!(
            errs[0].message_in(Lang::De),
            "'up' ist kein gültiger Wert für dir; bitte verwenden Sie asc oder desc"
        );
    }

    #[test]
    fn folding() {
        assert_eq!(fold("MÜLLER Straße Élodie"), "muller strasse elodie");
    }
}
