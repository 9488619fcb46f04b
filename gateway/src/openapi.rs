//! The OpenAPI 3.1 description of the gateway's own endpoints, served at
//! [`OPENAPI_PATH`] ([`crate::routes::openapi`]).
//!
//! It is generated from the code. Each handler of a gateway endpoint
//! carries `#[utoipa::path]`: method, path, parameters, answers, and the
//! roles that may call it, as the scopes of its [`SESSION_SCHEME`] security
//! requirement (OpenAPI 3.1 allows role names there for schemes other than
//! OAuth2). [`crate::startup::app`] registers these handlers with
//! utoipa-axum's `routes!`, which adds the route and its description in
//! one step, so a route registered that way cannot go undescribed. The
//! schemas of the bodies come from `shared` (its `openapi` feature, which
//! only the gateway turns on). What holds for every `/api` route alike
//! because the guard ([`crate::auth::guard`]) and the layers around the
//! handlers do it — 401 without a session, 403 for the anti-forgery rule,
//! the one-time password and the role, 413, 429, 500, 504 — is added here
//! once, from the same facts they use; so are the document's info, the two
//! security schemes, the error body [`shared::ApiError`] and each
//! operation's "Roles:" sentence. [`Document::new`] builds the JSON once,
//! when the router is built.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::Method;
use shared::cases::{AssigneeFilter, CaseKind, CaseQuery, CaseSort, CaseState, CASES_MAX_PER_PAGE};
use shared::directory::{
    Archived, DeviceFilter, SortKey, UserQuery, MAX_PER_PAGE, MAX_SEARCH_CHARS, MAX_SEARCH_WORDS,
};
use shared::staff::{AuditQuery, StaffRole, ACTIONS, AUDIT_MAX_PER_PAGE, CSRF_HEADER};
use shared::{ApiError, Role};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, KnownFormat, OpenApi, Ref, RefOr, Required, ResponseBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::auth::guard::BEFORE_PASSWORD_CHANGE;
use crate::routes::OWN_BODY_LIMIT;

/// Where the description is served (public, like `/healthz`).
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// The security scheme of the session cookie. The scopes of an operation's
/// requirement on it are the roles ([`StaffRole`]) that may call it.
pub const SESSION_SCHEME: &str = "session";

/// The security scheme of the anti-forgery header ([`CSRF_HEADER`]),
/// required with the session on every change.
pub const CSRF_SCHEME: &str = "csrf";

/// Answer descriptions that several handlers' `#[utoipa::path]` share.
pub const PODERO_FAILED: &str = "`upstream_unreachable`, `upstream_auth_failed`, \
`upstream_bad_response`: Podero could not be reached, refused the gateway's credentials or \
answered something unusable.";
pub const PODERO_SLOW: &str = "`upstream_timeout`: Podero did not answer in time.";
pub const PODERO_REFUSED: &str = "`podero_refused`: Podero refused the call; its status and \
(field-shaped) body are passed on.";
pub const BAD_ID: &str = "`bad_path`: the id is not a UUID.";
pub const OWN_ACCOUNT: &str = "`own_account`: not for one's own account (another admin does \
that), so there is always an admin left.";
pub const NO_MEMBER: &str = "`not_found`: no team member has this id.";

/// The tags, in the order the document lists them.
const TAGS: [(&str, &str); 8] = [
    ("session", "Signing in and out, the signed-in account's password and language"),
    ("app", "What the browser app needs to know about the gateway"),
    ("directory", "The users list, its CSV export and the reconnection report, answered from the gateway's read model of the organisation's users"),
    ("team", "Colleagues: a back-office account and, for admins and staff, a Podero team member"),
    ("audit", "The append-only audit trail of every operation made through the gateway"),
    ("cases", "Support cases linked to end-users, the fleet watch that opens and resolves device-connection cases, and the outgoing webhook's log"),
    ("self_service", "Customers' self-service reconnection links, the e-mail that carries them, and the outbox of messages to customers"),
    ("meta", "The gateway itself: liveness and this description"),
];

/// The description as served: JSON, built once.
#[derive(Debug, Clone)]
pub struct Document(pub Bytes);

impl Document {
    /// Complete `api` (the paths the router's `routes!` collected) with
    /// what many operations share, and serialise it. `cookie_name` is the
    /// session cookie's name as configured.
    pub fn new(mut api: OpenApi, cookie_name: &str) -> Self {
        complete(&mut api, cookie_name);
        let json = api
            .to_json()
            .expect("an OpenAPI document always serialises to JSON");
        Self(Bytes::from(json))
    }
}

/// Add what is the same for many operations to `api`: info, tags, security
/// schemes, the error body, the guard's answers and the roles sentences.
fn complete(api: &mut OpenApi, cookie_name: &str) {
    api.info = InfoBuilder::new()
        .title("Podero Partner Back-Office gateway")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(INFO))
        .build();
    api.tags = Some(
        TAGS.iter()
            .map(|(name, text)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*text))
                    .build()
            })
            .collect(),
    );
    let components = api.components.get_or_insert_with(Default::default);
    components.security_schemes.insert(
        SESSION_SCHEME.into(),
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie_name,
            "The session cookie that `POST /api/session` sets (HttpOnly, SameSite=Strict; \
             `__Host-podero_session` over HTTPS, `podero_session` on plain-HTTP loopback \
             development). A requirement's scopes name the roles (`admin`, `staff`, `viewer`) \
             that may call the operation.",
        ))),
    );
    components.security_schemes.insert(
        CSRF_SCHEME.into(),
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            CSRF_HEADER,
            "The anti-forgery header every request other than GET/HEAD/OPTIONS carries: the \
             `csrf_token` of `GET /api/session` (for the sign-in itself, any value).",
        ))),
    );
    let mut schemas = vec![(ApiError::name().into_owned(), ApiError::schema())];
    ApiError::schemas(&mut schemas);
    for (name, mut schema) in schemas {
        if name == ApiError::name() {
            if let RefOr::T(Schema::Object(object)) = &mut schema {
                object.description = Some(ERROR_BODY.into());
            }
        }
        components.schemas.insert(name, schema);
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            if path.starts_with("/api/") && path != OPENAPI_PATH {
                add_guard_answers(path, &method, operation);
            }
            add_roles_sentence(operation);
        }
    }
}

const INFO: &str = "The gateway's own endpoints: sessions, the signed-in account, \
the app's facts, the users read model, the team and the audit trail.\n\n\
Every other path below `/api/partners/v2.0/org/{org_id}/` is a Podero Partner API v2.0 \
call on the gateway's allow-list, forwarded to Podero with the organisation's credentials \
(and the same session, anti-forgery and role rules); those are Podero's and not described \
here (gateway/README.md, \"Forwarded allow-list\"). Any other `/api` path answers \
`404 route_not_allowed`.\n\n\
Every `/api` request but the sign-in and this document needs the session cookie; every \
change also the anti-forgery header. Each operation names the roles that may call it (the \
scopes of its `session` requirement). Every error is an `ApiError` with a `code`; its \
`detail` is in the request's language (the account's choice, else `Accept-Language`).";

const ERROR_BODY: &str = "The body of every error the gateway answers: `code` says what \
went wrong (e.g. `not_signed_in`, `forbidden`, `invalid_body`, `not_found`, \
`upstream_timeout`; gateway/README.md lists them all) and never changes; `detail` is a \
sentence in the request's language, or, for field problems (`invalid_body`, \
`invalid_query`, `conflict`), a list of issues whose `loc` names the field \
(`[\"body\", \"email\"]`); a refused column mapping of a customer file (`/api/sync/…`) \
also carries `columns`, the file's header row and the columns that could be used. Errors that Podero itself answers to a forwarded call pass \
through as Podero sent them, without `code`.";

/// The operations of a path and their methods.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// An operation's security requirements as `scheme → scopes` maps (the
/// empty map: the requirement is optional).
fn requirements(operation: &Operation) -> Vec<BTreeMap<String, Vec<String>>> {
    operation
        .security
        .iter()
        .flatten()
        .filter_map(|r| serde_json::from_value(serde_json::to_value(r).ok()?).ok())
        .collect()
}

/// The roles that may call an operation (`None`: no session needed).
fn roles(operation: &Operation) -> Option<Vec<String>> {
    requirements(operation)
        .into_iter()
        .find_map(|r| r.get(SESSION_SCHEME).cloned())
}

fn add_roles_sentence(operation: &mut Operation) {
    let sentence = match roles(operation) {
        Some(roles) => format!("**Roles:** {}.", roles.join(", ")),
        None => "**Roles:** none needed, no session.".to_string(),
    };
    let description = operation.description.get_or_insert_with(String::new);
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&sentence);
}

/// The answers the guard and the layers around the handlers give on this
/// operation (see [`crate::auth::guard`], [`crate::startup::app`]).
fn add_guard_answers(path: &str, method: &Method, operation: &mut Operation) {
    let write = crate::request::is_write(method);
    let requirements = requirements(operation);
    let roles = requirements
        .iter()
        .find_map(|r| r.get(SESSION_SCHEME).cloned());
    let optional = requirements.iter().any(BTreeMap::is_empty);
    let mut answers: Vec<(&str, String)> = Vec::new();
    if roles.is_some() && !optional {
        answers.push((
            "401",
            "`not_signed_in`: no valid session; `session_expired`: the cookie's session has \
             ended (signed out, ended by an admin, idle, too old)."
                .into(),
        ));
    }
    if write {
        answers.push((
            "403",
            format!(
                "`csrf_missing` / `csrf_mismatch`: the `{CSRF_HEADER}` header is missing or \
                 wrong; `cross_site`: the request came from another site."
            ),
        ));
    }
    if roles.is_some() && !BEFORE_PASSWORD_CHANGE.contains(&path) {
        answers.push((
            "403",
            "`password_change_required`: the account must first replace its one-time \
             password."
                .into(),
        ));
    }
    if roles
        .as_ref()
        .is_some_and(|r| r.len() < StaffRole::ALL.len())
    {
        answers.push(("403", "`forbidden`: the role may not do this.".into()));
    }
    if write {
        answers.push((
            "413",
            format!("`payload_too_large`: the body is above {OWN_BODY_LIMIT} bytes."),
        ));
    }
    answers.push((
        "429",
        "`rate_limited`: too many requests without a session from this client \
         (`Retry-After` says when to try again)."
            .into(),
    ));
    answers.push((
        "500",
        "`database`, `audit_unavailable`, `internal`: the gateway failed (the cause is in \
         its log only); nothing is answered without its audit record."
            .into(),
    ));
    answers.push((
        "504",
        "`gateway_timeout`: the request took longer than the gateway's time limit.".into(),
    ));
    for (status, text) in answers {
        add_error(operation, status, &text);
    }
}

/// Document an error answer (an [`ApiError`]); a status already there
/// gets `text` added to its description.
fn add_error(operation: &mut Operation, status: &str, text: &str) {
    let responses = &mut operation.responses.responses;
    match responses.get_mut(status) {
        Some(RefOr::T(response)) => {
            response.description.push_str("\n\n");
            response.description.push_str(text);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ApiError::name())))
                        .build(),
                )
                .build();
            responses.insert(status.to_string(), RefOr::T(response));
        }
    }
}

/// Query parameters (none required) from `(name, schema, description)`.
fn query_params(
    parameter_in: impl Fn() -> Option<ParameterIn>,
    params: Vec<(&str, ObjectBuilder, String)>,
) -> Vec<Parameter> {
    let parameter_in = parameter_in().unwrap_or(ParameterIn::Query);
    params
        .into_iter()
        .map(|(name, schema, description)| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(parameter_in.clone())
                .required(Required::False)
                .schema(Some(schema.build()))
                .description(Some(description))
                .build()
        })
        .collect()
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    text().enum_values(Some(values))
}

fn flag() -> ObjectBuilder {
    one_of(["true", "false"])
}

fn count(default: u32, max: Option<u32>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(max)
        .default(Some(default.into()))
}

/// The query of `GET /api/directory/users` and `users.csv`, as
/// [`UserQuery::parse`] reads it; the values allowed and the defaults come
/// from the same lists and [`UserQuery::default`].
pub struct UserQueryParams;

impl IntoParams for UserQueryParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let d = UserQuery::default();
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        query_params(
            parameter_in,
            vec![
                (
                    "q",
                    text().max_length(Some(MAX_SEARCH_CHARS)),
                    format!(
                        "Free text over name, e-mail, customer number and town; case- and \
                         accent-insensitive, every word must match. At most \
                         {MAX_SEARCH_CHARS} characters and {MAX_SEARCH_WORDS} words."
                    ),
                ),
                (
                    "role",
                    text(),
                    format!("Only these roles, comma-separated: {}.", roles.join(", ")),
                ),
                (
                    "device",
                    one_of(DeviceFilter::ALL.iter().map(|f| f.as_str())),
                    String::from(
                        "Only users with any device, with none, or with one of this kind.",
                    ),
                ),
                (
                    "onboarded",
                    one_of(["true", "false", "yes", "no"]),
                    String::from("Only onboarded users, or only users not onboarded."),
                ),
                (
                    "lost",
                    flag(),
                    String::from(
                        "Only users with a device whose manufacturer connection is lost \
                         (from the reconnection scan).",
                    ),
                ),
                (
                    "archived",
                    one_of(Archived::ALL.iter().map(|a| a.as_str()))
                        .default(Some(d.archived.as_str().into())),
                    String::from("Archived users: hidden, included, or only they."),
                ),
                (
                    "include_deleted",
                    flag(),
                    String::from("Podero's name for it: `true` is `archived=include`."),
                ),
                (
                    "sort",
                    one_of(SortKey::ALL.iter().map(|k| k.as_str()))
                        .default(Some(d.sort.as_str().into())),
                    String::from("Sort column; empty values sort last."),
                ),
                (
                    "dir",
                    one_of(["asc", "desc"]).default(Some("asc".into())),
                    String::from("Sort direction."),
                ),
                ("page", count(d.page, None), String::from("Page, from 1.")),
                (
                    "per_page",
                    count(d.per_page, Some(MAX_PER_PAGE)),
                    format!("Users per page, 1 to {MAX_PER_PAGE}."),
                ),
            ],
        )
    }
}

/// The query of `GET /api/cases`, `/api/cases.csv` and
/// `/api/cases/summary`, as [`CaseQuery::parse`] reads it.
pub struct CaseQueryParams;

impl IntoParams for CaseQueryParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let d = CaseQuery::default();
        let uuid = || text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        let all = |values: Vec<&'static str>| {
            let mut v = vec!["all"];
            v.extend(values);
            one_of(v)
        };
        query_params(
            parameter_in,
            vec![
                (
                    "q",
                    text().max_length(Some(MAX_SEARCH_CHARS)),
                    format!(
                        "Free text: every word must appear, case-insensitively, in the subject, \
                         the end-user's name or e-mail, the device or a comment, or be the case's \
                         number (`42`, `#42`); `%` and `_` match only themselves. At most \
                         {MAX_SEARCH_CHARS} characters and {MAX_SEARCH_WORDS} words (else 400 \
                         `invalid_query` naming `q`)."
                    ),
                ),
                ("user_id", uuid(), "Only this end-user's cases.".into()),
                ("device_id", uuid(), "Only this device's cases.".into()),
                (
                    "state",
                    all(CaseState::ALL.iter().map(|s| s.as_str()).collect()),
                    "Only cases in this state (default: all).".into(),
                ),
                (
                    "kind",
                    all(CaseKind::ALL.iter().map(|k| k.as_str()).collect()),
                    "Only cases of this kind (default: all).".into(),
                ),
                (
                    "assignee",
                    one_of(AssigneeFilter::ALL.iter().map(|a| a.as_str())),
                    "Whose: anyone (default), mine (the signed-in account's), unassigned.".into(),
                ),
                (
                    "older_than_hours",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                    "Only cases opened at least this many hours ago.".into(),
                ),
                (
                    "sort",
                    one_of(CaseSort::ALL.iter().map(|s| s.as_str())),
                    "newest (default), oldest, priority (most urgent, then oldest), updated."
                        .into(),
                ),
                ("page", count(d.page, None), "Page, from 1.".into()),
                (
                    "per_page",
                    count(d.per_page, Some(CASES_MAX_PER_PAGE)),
                    format!("Cases per page, 1 to {CASES_MAX_PER_PAGE}."),
                ),
            ],
        )
    }
}

/// The query of `GET /api/audit` and `/api/audit.csv`, as
/// [`AuditQuery::parse`] reads it.
pub struct AuditQueryParams;

impl IntoParams for AuditQueryParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let d = AuditQuery::default();
        let groups: Vec<&str> = ACTIONS.iter().map(|(group, _)| *group).collect();
        let time =
            |edge: &str| format!("{edge}: RFC 3339, or a date (`2026-11-23`: its start in UTC).");
        query_params(
            parameter_in,
            vec![
                (
                    "actor",
                    text(),
                    "E-mail of the staff member (exact, case-insensitive).".into(),
                ),
                (
                    "user",
                    text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
                    "The end-user (or team member's Podero user) concerned.".into(),
                ),
                (
                    "action",
                    text().pattern(Some("^[a-z._]*$")),
                    format!(
                        "An action group ({}) or an exact action such as `user.update`.",
                        groups.join(", ")
                    ),
                ),
                (
                    "changes_only",
                    flag(),
                    "Only operations that changed something (not reads).".into(),
                ),
                ("from", text(), time("From this time on (inclusive)")),
                (
                    "to",
                    text(),
                    time("Before this time (exclusive; after `from`)"),
                ),
                ("page", count(d.page, None), "Page, from 1.".into()),
                (
                    "per_page",
                    count(d.per_page, Some(AUDIT_MAX_PER_PAGE)),
                    format!("Entries per page, 1 to {AUDIT_MAX_PER_PAGE}."),
                ),
            ],
        )
    }
}
