//! Bulk sync of the organisation's end-users with the utility's customer
//! master: the fields a customer file maps to, the dry run's diff, a sync
//! run's progress and report, and the data-quality report.
//!
//! The gateway parses the file and compares it with its read model; the
//! browser shows what these types carry. Column mapping: every
//! [`SyncField`] is guessed from the file's header (German and English
//! names, [`SyncField::guess`]) and can be set by the query parameter of
//! its name (`?email=Mail`, `?external_user_id=` to leave a field out).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::staff::FieldChange;
use crate::validation::FieldError;

/// `POST`: the dry run of a customer file (the file is the body).
pub const SYNC_DRY_RUN_PATH: &str = "/api/sync/dry-run";
/// `GET`: the runs, newest first; `POST`: start one (the file is the body).
pub const SYNC_RUNS_PATH: &str = "/api/sync/runs";
/// `GET`: the data-quality report of the organisation's end-users.
pub const QUALITY_PATH: &str = "/api/sync/quality";
/// `GET`: the same as CSV.
pub const QUALITY_CSV_PATH: &str = "/api/sync/quality.csv";

/// Largest customer file (bytes): a 100,000-row file fits.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_FILE_ROWS: usize = 200_000;

/// A user field a column of the file can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncField {
    ExternalUserId,
    Email,
    FirstName,
    LastName,
    StreetAndNumber,
    StreetAddInfo,
    ZipCode,
    Town,
    Country,
    Latitude,
    Longitude,
}

impl SyncField {
    pub const ALL: [SyncField; 11] = [
        SyncField::ExternalUserId,
        SyncField::Email,
        SyncField::FirstName,
        SyncField::LastName,
        SyncField::StreetAndNumber,
        SyncField::StreetAddInfo,
        SyncField::ZipCode,
        SyncField::Town,
        SyncField::Country,
        SyncField::Latitude,
        SyncField::Longitude,
    ];

    /// The field's name as the API spells it (also the query parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncField::ExternalUserId => "external_user_id",
            SyncField::Email => "email",
            SyncField::FirstName => "first_name",
            SyncField::LastName => "last_name",
            SyncField::StreetAndNumber => "street_and_number",
            SyncField::StreetAddInfo => "street_add_info",
            SyncField::ZipCode => "zip_code",
            SyncField::Town => "town",
            SyncField::Country => "country_iso2",
            SyncField::Latitude => "latitude",
            SyncField::Longitude => "longitude",
        }
    }

    pub fn parse(s: &str) -> Option<SyncField> {
        SyncField::ALL
            .into_iter()
            .find(|f| f.as_str() == s || (s == "country" && *f == SyncField::Country))
    }

    /// Header names (folded: lower case, no spaces, `-`, `_` or `.`,
    /// umlauts as `ae`/`oe`/`ue`/`ss`) that mean this field.
    fn names(self) -> &'static [&'static str] {
        match self {
            SyncField::ExternalUserId => &[
                "externaluserid",
                "customernumber",
                "customerno",
                "customerid",
                "kundennummer",
                "kundennr",
                "kdnr",
                "geschaeftspartner",
                "gpnr",
                "vertragskonto",
                "partner",
            ],
            SyncField::Email => &[
                "email",
                "mail",
                "emailadresse",
                "emailaddress",
                "mailadresse",
            ],
            SyncField::FirstName => &["firstname", "givenname", "vorname", "forename"],
            SyncField::LastName => &["lastname", "surname", "familyname", "nachname", "name"],
            SyncField::StreetAndNumber => &[
                "streetandnumber",
                "street",
                "address",
                "strasse",
                "strasseundhausnummer",
                "strassehausnummer",
                "adresse",
                "anschrift",
            ],
            SyncField::StreetAddInfo => &[
                "streetaddinfo",
                "addressaddition",
                "addresssupplement",
                "addressline2",
                "adresszusatz",
                "zusatz",
            ],
            SyncField::ZipCode => &[
                "zipcode",
                "zip",
                "postalcode",
                "postcode",
                "plz",
                "postleitzahl",
            ],
            SyncField::Town => &["town", "city", "ort", "stadt", "wohnort", "gemeinde"],
            SyncField::Country => &[
                "countryiso2",
                "country",
                "countrycode",
                "land",
                "laendercode",
                "staat",
            ],
            SyncField::Latitude => &["latitude", "lat", "breitengrad", "breite"],
            SyncField::Longitude => &["longitude", "lon", "lng", "laengengrad", "laenge"],
        }
    }

    /// The field a header name means, if any.
    pub fn guess(header: &str) -> Option<SyncField> {
        let folded = fold_header(header);
        SyncField::ALL
            .into_iter()
            .find(|f| f.names().contains(&folded.as_str()))
    }
}

/// A header name folded for [`SyncField::guess`].
fn fold_header(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            ' ' | '-' | '_' | '.' | '/' | '\u{feff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Which column a field is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnMapping {
    pub field: SyncField,
    /// The column's header as in the file; `None`: the field is not in
    /// the file (left as it is in Podero).
    pub column: Option<String>,
}

/// What a row of the file is, compared with the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    New,
    Changed,
    Unchanged,
    Invalid,
    Conflict,
    /// An end-user in Podero that the file does not have.
    Missing,
}

impl DiffKind {
    pub const ALL: [DiffKind; 6] = [
        DiffKind::New,
        DiffKind::Changed,
        DiffKind::Unchanged,
        DiffKind::Invalid,
        DiffKind::Conflict,
        DiffKind::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::New => "new",
            DiffKind::Changed => "changed",
            DiffKind::Unchanged => "unchanged",
            DiffKind::Invalid => "invalid",
            DiffKind::Conflict => "conflict",
            DiffKind::Missing => "missing",
        }
    }
}

/// How many rows of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffCounts {
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub invalid: u32,
    pub conflicts: u32,
    pub missing: u32,
}

impl DiffCounts {
    pub fn add(&mut self, kind: DiffKind) {
        *self.slot(kind) += 1;
    }

    pub fn get(&self, kind: DiffKind) -> u32 {
        let mut copy = *self;
        *copy.slot(kind)
    }

    fn slot(&mut self, kind: DiffKind) -> &mut u32 {
        match kind {
            DiffKind::New => &mut self.new,
            DiffKind::Changed => &mut self.changed,
            DiffKind::Unchanged => &mut self.unchanged,
            DiffKind::Invalid => &mut self.invalid,
            DiffKind::Conflict => &mut self.conflicts,
            DiffKind::Missing => &mut self.missing,
        }
    }

    /// Rows an apply would write (new and changed).
    pub fn writes(&self) -> u32 {
        self.new + self.changed
    }
}

/// One row of the dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffRow {
    /// Line of the file where the row starts (1 is the header); 0 for a
    /// missing user.
    pub line: u64,
    pub kind: DiffKind,
    /// The Podero user the row matched (changed, unchanged, missing, and
    /// some conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// "First Last" of the row (or the user), for the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Changed: each field from Podero's value to the file's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// Invalid: each bad cell (`field` is the API's field name, `column`
    /// the file's header) with the validator's message; a conflict: why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RowProblem>,
    /// Data-quality warnings about the row's values (it is still written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<QualityIssue>,
}

/// A bad cell of an invalid row, or the reason of a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowProblem {
    /// The file's column header (empty for a conflict).
    pub column: String,
    /// The validator's error, in the request's language.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub error: FieldError,
}

/// A customer file's header row and the column each field is read from:
/// what the column mapping is chosen from. In the dry run's answer, and
/// in the refusal of a file whose mapping cannot be used (no column for
/// the e-mail, a column the file does not have: [`crate::ApiError`]'s
/// `columns`), so the app offers the same choice in both cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileColumns {
    /// The file's header row.
    pub headers: Vec<String>,
    /// The mapping used (guessed, or as given; in a refusal, the columns
    /// that could be used, a field without one as `null`).
    pub mapping: Vec<ColumnMapping>,
}

/// The dry run's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRun {
    pub counts: DiffCounts,
    /// `headers` and `mapping`.
    #[serde(flatten)]
    pub columns: FileColumns,
    /// `;` or `,`.
    pub delimiter: String,
    /// `utf-8` or `windows-1252`.
    pub encoding: String,
    /// Data rows read (empty lines left out).
    pub rows_read: u32,
    /// Every row but the unchanged ones (those too with `unchanged=true`),
    /// in file order, then the missing users.
    pub rows: Vec<DiffRow>,
    /// Data-quality problems in the file, per kind.
    pub quality: Vec<QualityCount>,
}

/// The state of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Paused,
    Done,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        [RunState::Running, RunState::Paused, RunState::Done]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// What happened to one row of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Pending,
    Created,
    Updated,
    Archived,
    Skipped,
    Failed,
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Pending => "pending",
            RowOutcome::Created => "created",
            RowOutcome::Updated => "updated",
            RowOutcome::Archived => "archived",
            RowOutcome::Skipped => "skipped",
            RowOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RowOutcome> {
        [
            RowOutcome::Pending,
            RowOutcome::Created,
            RowOutcome::Updated,
            RowOutcome::Archived,
            RowOutcome::Skipped,
            RowOutcome::Failed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A sync run and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub id: Uuid,
    pub state: RunState,
    pub started_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub started_by: String,
    /// Writes to make (creates, updates, archives).
    pub writes: u32,
    /// Writes made or failed so far.
    pub written: u32,
    pub created: u32,
    pub updated: u32,
    pub archived: u32,
    pub skipped: u32,
    pub failed: u32,
    /// Requests per second towards Podero.
    pub rate: u32,
}

/// A kind of data-quality problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QualityProblem {
    CoordinatesMissing,
    OutsideCountry,
    FarFromPostalCode,
    PostalCodeInvalid,
    TownDisagrees,
    NameMissing,
}

impl QualityProblem {
    pub const ALL: [QualityProblem; 6] = [
        QualityProblem::CoordinatesMissing,
        QualityProblem::OutsideCountry,
        QualityProblem::FarFromPostalCode,
        QualityProblem::PostalCodeInvalid,
        QualityProblem::TownDisagrees,
        QualityProblem::NameMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QualityProblem::CoordinatesMissing => "coordinates_missing",
            QualityProblem::OutsideCountry => "outside_country",
            QualityProblem::FarFromPostalCode => "far_from_postal_code",
            QualityProblem::PostalCodeInvalid => "postal_code_invalid",
            QualityProblem::TownDisagrees => "town_disagrees",
            QualityProblem::NameMissing => "name_missing",
        }
    }

    pub fn parse(s: &str) -> Option<QualityProblem> {
        QualityProblem::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Catalog key of its label.
    pub fn label_key(self) -> String {
        format!("quality.{}", self.as_str())
    }
}

/// One problem of one user (or file row), with what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityIssue {
    pub problem: QualityProblem,
    /// What was found, e.g. "48.2, 16.4 is 212 km from the others of 1010".
    pub detail: String,
}

/// How many users (or rows) have a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityCount {
    pub problem: QualityProblem,
    pub count: u32,
}

/// One user with data-quality problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityRow {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub external_user_id: Option<String>,
    #[serde(default)]
    pub zip_code: Option<String>,
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    pub issues: Vec<QualityIssue>,
}

/// The data-quality report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityReport {
    /// Active end-users checked.
    pub checked: u32,
    pub counts: Vec<QualityCount>,
    /// Users matching the filter (all pages).
    pub total: u32,
    pub page: u32,
    pub per_page: u32,
    pub rows: Vec<QualityRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_guessed_in_german_and_english() {
        let cases = [
            ("Kundennummer", SyncField::ExternalUserId),
            ("Kunden-Nr.", SyncField::ExternalUserId),
            ("customer_number", SyncField::ExternalUserId),
            ("E-Mail", SyncField::Email),
            ("\u{feff}Email", SyncField::Email),
            ("Vorname", SyncField::FirstName),
            ("Last Name", SyncField::LastName),
            ("Straße", SyncField::StreetAndNumber),
            ("Adresszusatz", SyncField::StreetAddInfo),
            ("PLZ", SyncField::ZipCode),
            ("Ort", SyncField::Town),
            ("Land", SyncField::Country),
            ("Breitengrad", SyncField::Latitude),
            ("Längengrad", SyncField::Longitude),
            ("lng", SyncField::Longitude),
        ];
        for (header, field) in cases {
            assert_eq!(SyncField::guess(header), Some(field), "{header}");
        }
        assert_eq!(SyncField::guess("Tarif"), None);
        assert_eq!(SyncField::parse("country"), Some(SyncField::Country));
    }

    #[test]
    fn counts_by_kind() {
        let mut c = DiffCounts::default();
        c.add(DiffKind::New);
        c.add(DiffKind::Changed);
        c.add(DiffKind::Changed);
        assert_eq!(c.get(DiffKind::Changed), 2);
        assert_eq!(c.writes(), 3);
    }
}
