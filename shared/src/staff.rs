//! The back-office's own people and records: staff accounts and their
//! sign-in sessions, the team, and the audit trail.
//!
//! These are the gateway's endpoints, not Podero's: the gateway keeps staff
//! accounts, sessions and the audit trail in its own database. The app and
//! the gateway share the request and answer types, the endpoint paths, the
//! anti-forgery header name and the checks of what a person types (the new
//! password, an invitation), so both say the same thing next to a field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::{bad_value, query_pairs, query_string};
use crate::i18n::{tr, Lang};
use crate::user::Role;
use crate::validation::{check_text, Email, FieldError};

/// `GET`: who is signed in (401 if nobody); `POST` [`SignIn`]; `DELETE`: sign out.
pub const SESSION_PATH: &str = "/api/session";
/// `POST` [`ChangePassword`] for the signed-in account.
pub const PASSWORD_PATH: &str = "/api/session/password";
/// `PUT` [`LanguageChoice`] for the signed-in account; answers
/// [`SessionInfo`].
pub const LANGUAGE_PATH: &str = "/api/session/language";
/// `GET`: the team ([`TeamList`]); `POST` [`Invite`].
pub const TEAM_PATH: &str = "/api/team";
/// `GET` the audit trail ([`AuditQuery`] → [`AuditPage`]), admins only.
pub const AUDIT_PATH: &str = "/api/audit";
/// `GET` the audit trail as CSV ([`AuditQuery`]), admins only.
pub const AUDIT_CSV_PATH: &str = "/api/audit.csv";

/// `PATCH` ([`RoleChange`]) or `DELETE` a team member.
pub fn team_member_path(id: Uuid) -> String {
    format!("{TEAM_PATH}/{id}")
}

/// `DELETE`: end every session of a team member.
pub fn team_sessions_path(id: Uuid) -> String {
    format!("{TEAM_PATH}/{id}/sessions")
}

/// `POST`: issue a new one-time password for a team member (admins only);
/// answers [`Invited`] (the password, shown once) and ends their sessions.
pub fn team_password_path(id: Uuid) -> String {
    format!("{TEAM_PATH}/{id}/password")
}

/// `GET`: the change history of one end-user (every role may read it).
pub fn user_history_path(user: Uuid) -> String {
    format!("{AUDIT_PATH}/users/{user}")
}

/// Request header every state-changing request must carry. A cross-site
/// form cannot set a header, and a cross-site script cannot read the
/// value, which the app gets from `GET /api/session`.
pub const CSRF_HEADER: &str = "x-podero-csrf";

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (hashing cost stays bounded).
pub const MAX_PASSWORD_LEN: usize = 256;

/// What a back-office account may do. `admin` and `staff` follow Podero's
/// own team roles (and have a Podero user of that role); `viewer` exists
/// only in the back-office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Everything, including the team, staff accounts and the audit trail.
    Admin,
    /// End-users, their devices and buildings; reads the rest.
    Staff,
    /// Reads end-users, devices and buildings; changes nothing.
    Viewer,
}

impl StaffRole {
    pub const ALL: [StaffRole; 3] = [StaffRole::Admin, StaffRole::Staff, StaffRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Staff => "staff",
            StaffRole::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Admin => "Admin",
            StaffRole::Staff => "Staff",
            StaffRole::Viewer => "Viewer",
        }
    }

    /// [`StaffRole::label`] in `lang`.
    pub fn label_in(self, lang: Lang) -> String {
        tr(lang, &format!("staff_role.{}", self.as_str()), &[])
    }

    pub fn parse(s: &str) -> Option<StaffRole> {
        StaffRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The Podero role of this account's team member, if it has one.
    pub fn podero_role(self) -> Option<Role> {
        match self {
            StaffRole::Admin => Some(Role::Admin),
            StaffRole::Staff => Some(Role::Staff),
            StaffRole::Viewer => None,
        }
    }

    /// May change end-users, their devices and buildings.
    pub fn can_change_users(self) -> bool {
        matches!(self, StaffRole::Admin | StaffRole::Staff)
    }

    /// May change a Podero user of role `target` (and its devices and
    /// buildings): admins any, staff only end-users (`user`, `guest`).
    pub fn can_change_user_of_role(self, target: Role) -> bool {
        match self {
            StaffRole::Admin => true,
            StaffRole::Staff => matches!(target, Role::User | Role::Guest),
            StaffRole::Viewer => false,
        }
    }

    /// Team administration, staff accounts and the audit trail.
    pub fn is_admin(self) -> bool {
        self == StaffRole::Admin
    }
}

/// `POST /api/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// `POST /api/session/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

impl ChangePassword {
    /// The new password's rules, for `email`'s account.
    pub fn validate(&self, email: &str) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.current_password.is_empty() {
            errors.push(FieldError::keyed(
                "current_password",
                "validation.password.current_empty",
                &[],
            ));
        }
        if let Err(e) = check_new_password(&self.new_password, email) {
            errors.push(e);
        } else if self.new_password == self.current_password {
            errors.push(FieldError::keyed(
                "new_password",
                "validation.password.unchanged",
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

/// Rules for a new password: 12 to 256 characters, not the e-mail address.
pub fn check_new_password(password: &str, email: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(FieldError::keyed(
            "new_password",
            "validation.password.too_short",
            &[
                ("min", &MIN_PASSWORD_LEN.to_string()),
                ("count", &n.to_string()),
            ],
        ));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(FieldError::keyed(
            "new_password",
            "validation.password.too_long",
            &[
                ("max", &MAX_PASSWORD_LEN.to_string()),
                ("count", &n.to_string()),
            ],
        ));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(FieldError::keyed(
            "new_password",
            "validation.password.is_email",
            &[],
        ));
    }
    Ok(())
}

/// The signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
    /// Set for a new account (one-time password): nothing but the
    /// password change is allowed until it is done.
    pub must_change_password: bool,
    /// The language chosen in the app, remembered for the account; `None`:
    /// the browser's language.
    #[serde(default)]
    pub language: Option<Lang>,
}

/// `PUT /api/session/language`: the account's language (`null`: follow
/// the browser again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LanguageChoice {
    pub language: Option<Lang>,
}

/// Answer of `GET` / `POST /api/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub account: Account,
    /// Value of the [`CSRF_HEADER`] for this session.
    pub csrf_token: String,
    /// The session ends at this time at the latest.
    pub expires_at: DateTime<Utc>,
    /// The session ends after this many seconds without a request.
    pub idle_timeout_secs: u32,
}

/// A colleague with a back-office account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
    /// Their Podero team member (admins and staff); `None` for viewers.
    pub podero_user_id: Option<Uuid>,
    /// Has not yet replaced the one-time password.
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Sessions that are neither ended nor expired.
    pub active_sessions: u32,
    /// When the one-time password stops working (while
    /// `must_change_password`); an admin can issue a new one.
    #[serde(default)]
    pub one_time_password_expires_at: Option<DateTime<Utc>>,
}

/// Answer of `GET /api/team`: the colleagues with a back-office account,
/// and the organisation's Podero admins and staff that no account is
/// linked to yet (each can be given access by an invitation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamList {
    pub members: Vec<TeamMember>,
    /// Active Podero users of role admin or staff without an account, by
    /// name.
    pub without_access: Vec<crate::user::User>,
}

/// `POST /api/team`: a new colleague.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: StaffRole,
}

impl Invite {
    /// Every field's problem at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = Email::parse(&self.email) {
            errors.push(e);
        }
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if value.trim().is_empty() {
                errors.push(FieldError::keyed(
                    field,
                    &format!("validation.invite.{field}_empty"),
                    &[],
                ));
            } else if let Err(e) = check_text(field, value) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Answer of `POST /api/team`: the member and their one-time password,
/// shown once; it must be changed at the first sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invited {
    pub member: TeamMember,
    pub one_time_password: String,
}

/// `PATCH /api/team/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleChange {
    pub role: StaffRole,
}

/// Answer of `DELETE /api/team/{id}/sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    pub ended: u32,
}

/// One field of a record that an operation changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    /// Value before (`null`: unset or unknown).
    pub from: serde_json::Value,
    /// Value after.
    pub to: serde_json::Value,
}

/// One operation made through the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account that made it; `None` before sign-in.
    pub actor_id: Option<Uuid>,
    /// Its e-mail (for a failed sign-in: the e-mail that was tried).
    pub actor_email: Option<String>,
    pub client_addr: Option<String>,
    pub method: String,
    /// The route with ids as placeholders, e.g. `users/{user_id}`.
    pub route: String,
    /// What it was, e.g. `user.update` (see [`ACTIONS`]).
    pub action: String,
    /// The end-user (or team member's Podero user) concerned, if any.
    pub target_user_id: Option<Uuid>,
    /// HTTP status of the answer; `0` when the operation was started (its
    /// intent recorded) but its outcome could not be recorded.
    pub status: u16,
    /// How many requests this entry stands for: refused requests from one
    /// client without a session are folded into one entry per minute.
    #[serde(default = "one")]
    pub count: u32,
    /// For changes: which fields changed, from what to what.
    pub changes: Vec<FieldChange>,
    /// A short note, e.g. the error code of a refused request.
    pub detail: Option<String>,
}

fn one() -> u32 {
    1
}

/// Action groups of the audit trail and what they mean (the filter offers
/// these; an action such as `user.update` is in group `user`).
pub const ACTIONS: [(&str, &str); 9] = [
    (
        "session",
        "Sign-in, sign-out, password and language changes",
    ),
    ("user", "End-users: read, create, update, archive"),
    ("device", "Devices and reconnection links"),
    ("building", "Buildings"),
    ("users", "Users list, search and export"),
    ("team", "Team and staff accounts"),
    ("audit", "Audit trail reads and exports"),
    ("case", "Support cases, the fleet watch and the webhook"),
    ("app", "App information"),
];

/// The description of an action group of [`ACTIONS`] in `lang` (the
/// group's name itself when it is not one of them).
pub fn action_group_label(group: &str, lang: Lang) -> String {
    if ACTIONS.iter().any(|(g, _)| *g == group) {
        tr(lang, &format!("audit_group.{group}"), &[])
    } else {
        group.to_string()
    }
}

/// Default and largest page of the audit trail.
pub const AUDIT_PER_PAGE: u32 = 50;
pub const AUDIT_MAX_PER_PAGE: u32 = 500;

/// Filter of the audit trail; also the query string of the app's audit page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// E-mail of the staff member (exact, case-insensitive).
    pub actor: Option<String>,
    /// The end-user concerned.
    pub user: Option<Uuid>,
    /// Action group (`user`) or exact action (`user.update`).
    pub action: Option<String>,
    /// Only operations that changed something (not reads).
    pub changes_only: bool,
    /// From this time on (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (exclusive).
    pub to: Option<DateTime<Utc>>,
    pub page: u32,
    pub per_page: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            actor: None,
            user: None,
            action: None,
            changes_only: false,
            from: None,
            to: None,
            page: 1,
            per_page: AUDIT_PER_PAGE,
        }
    }
}

/// A time in a query: RFC 3339, or a date (`2026-11-23`, meaning its start
/// in UTC).
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

impl AuditQuery {
    /// Parse a query string; unknown parameters are ignored, bad values of
    /// known ones are named with what is allowed.
    pub fn parse(query: &str) -> Result<AuditQuery, Vec<FieldError>> {
        let mut out = AuditQuery::default();
        let mut errors = Vec::new();
        for (key, value) in query_pairs(query) {
            let value = value.as_str();
            let bad = |allowed: &str, args: &[(&str, &str)]| bad_value(&key, value, allowed, args);
            match key.as_str() {
                "actor" => out.actor = Some(value.to_lowercase()).filter(|s| !s.is_empty()),
                "user" if value.is_empty() => out.user = None,
                "user" => match Uuid::parse_str(value) {
                    Ok(u) => out.user = Some(u),
                    Err(_) => errors.push(bad("user_id", &[])),
                },
                "action" => {
                    let ok = value.is_empty()
                        || value
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                    if ok {
                        out.action = Some(value.to_string()).filter(|s| !s.is_empty());
                    } else {
                        errors.push(bad("action", &[]));
                    }
                }
                "changes_only" => match value {
                    "" | "false" => out.changes_only = false,
                    "true" => out.changes_only = true,
                    _ => errors.push(bad("boolean", &[])),
                },
                "from" | "to" if value.is_empty() => {}
                "from" | "to" => match parse_time(value) {
                    Some(t) if key == "from" => out.from = Some(t),
                    Some(t) => out.to = Some(t),
                    None => errors.push(bad("time", &[])),
                },
                "page" => match value.parse::<u32>() {
                    Ok(p) if p >= 1 => out.page = p,
                    _ => errors.push(bad("page", &[])),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(n) if (1..=AUDIT_MAX_PER_PAGE).contains(&n) => out.per_page = n,
                    _ => errors.push(bad("per_page", &[("max", &AUDIT_MAX_PER_PAGE.to_string())])),
                },
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (out.from, out.to) {
            if to <= from {
                errors.push(FieldError::keyed("to", "validation.audit.range", &[]));
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
        if let Some(a) = &self.actor {
            parts.push(("actor", a.clone()));
        }
        if let Some(u) = self.user {
            parts.push(("user", u.to_string()));
        }
        if let Some(a) = &self.action {
            parts.push(("action", a.clone()));
        }
        if self.changes_only {
            parts.push(("changes_only", "true".into()));
        }
        if let Some(t) = self.from {
            parts.push(("from", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
        if let Some(t) = self.to {
            parts.push(("to", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
        if self.page != 1 {
            parts.push(("page", self.page.to_string()));
        }
        if self.per_page != AUDIT_PER_PAGE {
            parts.push(("per_page", self.per_page.to_string()));
        }
        query_string(parts)
    }
}

/// Answer of `GET /api/audit` (newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Entries matching the filter, on all pages.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_query_round_trip() {
        let q = AuditQuery {
            actor: Some("anna@example.com".into()),
            user: Some(Uuid::nil()),
            action: Some("user.update".into()),
            changes_only: true,
            from: parse_time("2026-11-01"),
            to: parse_time("2026-11-23T14:00:00Z"),
            page: 2,
            per_page: 100,
        };
        assert_eq!(AuditQuery::parse(&q.to_query_string()).unwrap(), q);
        assert_eq!(AuditQuery::default().to_query_string(), "");
    }

    #[test]
    fn bad_audit_values_are_named() {
        let errs = AuditQuery::parse("user=x&from=yesterday&per_page=0").unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["user", "from", "per_page"]);
        let errs = AuditQuery::parse("from=2026-11-02&to=2026-11-01").unwrap_err();
        assert_eq!(errs[0].field, "to");
    }

    #[test]
    fn password_rules() {
        assert!(check_new_password("short", "a@b.de").is_err());
        assert!(check_new_password("anna@example.com", "Anna@Example.com").is_err());
        assert!(check_new_password("correct horse battery", "a@b.de").is_ok());
        let same = ChangePassword {
            current_password: "correct horse battery".into(),
            new_password: "correct horse battery".into(),
        };
        assert_eq!(
            same.validate("a@b.de").unwrap_err()[0].field,
            "new_password"
        );
    }

    #[test]
    fn labels_in_german_and_english() {
        for r in StaffRole::ALL {
            assert_eq!(r.label_in(Lang::En), r.label());
        }
        assert_eq!(StaffRole::Staff.label_in(Lang::De), "Mitarbeiter");
        for (group, description) in ACTIONS {
            assert_eq!(action_group_label(group, Lang::En), description);
            assert_ne!(action_group_label(group, Lang::De), description);
        }
        assert_eq!(action_group_label("building", Lang::De), "Gebäude");
        assert_eq!(action_group_label("other", Lang::De), "other");
    }

    #[test]
    fn language_choice_and_account() {
        let choice: LanguageChoice = serde_json::from_str(r#"{"language":"de"}"#).unwrap();
        assert_eq!(choice.language, Some(Lang::De));
        let choice: LanguageChoice = serde_json::from_str(r#"{"language":null}"#).unwrap();
        assert_eq!(choice.language, None);
        assert!(serde_json::from_str::<LanguageChoice>(r#"{"language":"fr"}"#).is_err());
        // An answer of an older gateway has no language.
        let account: Account = serde_json::from_str(
            r#"{"id":"00000000-0000-0000-0000-000000000000","email":"a@b.de","display_name":"A","role":"staff","must_change_password":false}"#,
        )
        .unwrap();
        assert_eq!(account.language, None);
    }

    #[test]
    fn role_rules() {
        assert!(StaffRole::Admin.can_change_user_of_role(Role::Admin));
        assert!(StaffRole::Staff.can_change_user_of_role(Role::User));
        assert!(!StaffRole::Staff.can_change_user_of_role(Role::Staff));
        assert!(!StaffRole::Viewer.can_change_user_of_role(Role::User));
        assert_eq!(StaffRole::parse("viewer"), Some(StaffRole::Viewer));
    }
}
