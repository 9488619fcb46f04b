//! The one error type of the gateway and how it becomes an HTTP response.
//!
//! Every failure a handler can meet — a refused path, a forbidden
//! organisation, an unreachable or slow Podero, rejected client credentials —
//! is a [`GatewayError`]. Its response body is always [`shared::ApiError`]
//! (`{"detail": "...", "code": "..."}`) so the browser app shows one kind of
//! error. Messages name the cause (and the configured Podero base URL where
//! useful) but never carry a token, the client secret or upstream headers.

use std::fmt;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::sync::FileColumns;
use shared::{tr, ApiError, ErrorDetail, FieldError, Lang};

/// A message of the gateway from the catalog (`shared/locales/`): its key
/// and the values of its `%{name}` placeholders, said in the request's
/// language when the answer is made ([`crate::lang`]) and in English in
/// the log. A text that comes from elsewhere (Podero, the network) is
/// [`Msg::Plain`] and stays as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Keyed {
        key: &'static str,
        args: Vec<(&'static str, MsgArg)>,
    },
    Plain(String),
}

/// The value of a placeholder: a text as it is, or another catalog text
/// (said in the same language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgArg {
    Text(String),
    Key(&'static str),
}

impl Msg {
    /// The catalog's text `key`.
    pub fn new(key: &'static str) -> Self {
        Msg::Keyed {
            key,
            args: Vec::new(),
        }
    }

    /// A text from elsewhere, as it is.
    pub fn plain(text: impl Into<String>) -> Self {
        Msg::Plain(text.into())
    }

    /// With `value` for the placeholder `name`.
    pub fn with(self, name: &'static str, value: impl ToString) -> Self {
        self.arg(name, MsgArg::Text(value.to_string()))
    }

    /// With the catalog's text `key` for the placeholder `name`.
    pub fn with_text(self, name: &'static str, key: &'static str) -> Self {
        self.arg(name, MsgArg::Key(key))
    }

    fn arg(mut self, name: &'static str, value: MsgArg) -> Self {
        if let Msg::Keyed { args, .. } = &mut self {
            args.push((name, value));
        }
        self
    }

    /// The text in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Msg::Plain(text) => text.clone(),
            Msg::Keyed { key, args } => {
                let values: Vec<(&str, String)> = args
                    .iter()
                    .map(|(name, v)| match v {
                        MsgArg::Text(t) => (*name, t.clone()),
                        MsgArg::Key(k) => (*name, tr(lang, k, &[])),
                    })
                    .collect();
                let pairs: Vec<(&str, &str)> =
                    values.iter().map(|(n, v)| (*n, v.as_str())).collect();
                tr(lang, key, &pairs)
            }
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// Everything that can go wrong while answering a request. Each says
/// itself in German or English ([`GatewayError::message`]); `Display` is
/// the English text (for the log).
#[derive(Debug)]
pub enum GatewayError {
    /// The path contains `..`, `.`, empty segments, encoded slashes or
    /// control characters, or an id that is not a UUID.
    BadPath(Msg),
    /// A query parameter the gateway understands has a bad value.
    BadQuery(Msg),
    /// `/api/...` that is not on the allow-list.
    RouteNotAllowed,
    /// Allowed path, wrong method; carries the methods that are allowed.
    MethodNotAllowed(Vec<Method>),
    /// The path names another organisation than the configured one.
    OrgForbidden,
    /// The request body is above the limit (bytes).
    PayloadTooLarge(usize),
    /// The request body could not be read.
    BadBody,
    /// The request body is compressed (`Content-Encoding`, carried here),
    /// which no endpoint of the gateway reads.
    UnsupportedEncoding(String),
    /// Podero could not be reached (DNS, connection refused, TLS...).
    UpstreamUnreachable { base_url: String, cause: String },
    /// Podero did not answer within the configured time.
    UpstreamTimeout { base_url: String, timeout_secs: f64 },
    /// The token endpoint refused the gateway's client credentials.
    UpstreamAuthFailed { status: u16 },
    /// Podero answered something the gateway cannot use.
    UpstreamBadResponse(Msg),
    /// Query parameters of a gateway endpoint with bad values, each named.
    InvalidQuery(Vec<FieldError>),
    /// A customer file's column mapping that cannot be used (no column
    /// for the e-mail, a column the file does not have), each problem by
    /// its field: an `invalid_query` whose body also carries the file's
    /// header row and the columns that could be used (`columns`), so the
    /// app offers the choice.
    MappingRefused {
        errors: Vec<FieldError>,
        columns: FileColumns,
    },
    /// A user body that the shared validation refuses (the same checks the
    /// app runs next to each field), answered before anything reaches Podero.
    InvalidBody(Vec<FieldError>),
    /// The read model has no list of users to answer from (the first
    /// snapshot failed or is still loading).
    UsersUnavailable(Msg),
    /// No session cookie, or one this gateway does not know.
    NotSignedIn,
    /// The session ended (signed out, ended by an admin, idle or too old).
    SessionExpired,
    /// Unknown e-mail or wrong password: one message for both.
    SignInFailed,
    /// Too many failed sign-ins for the account or from the client.
    TooManyAttempts { retry_after_secs: u64 },
    /// A state-changing request without the anti-forgery header.
    CsrfMissing,
    /// The anti-forgery header does not belong to this session.
    CsrfMismatch,
    /// A state-changing request sent by another site.
    CrossSite,
    /// The account still has its one-time password.
    PasswordChangeRequired,
    /// The role may not do this; the message says what and why.
    Forbidden(Msg),
    /// An admin acting on their own account where that is not allowed.
    OwnAccount(Msg),
    /// Something the gateway keeps does not exist.
    NotFound(Msg),
    /// Field-shaped conflict (e.g. an e-mail address already in use).
    Conflict(Vec<FieldError>),
    /// Podero refused a call the gateway made itself; its answer is passed on.
    Podero { status: StatusCode, error: ApiError },
    /// The gateway's own database failed.
    Database(String),
    /// A bug or an exhausted resource inside the gateway.
    Internal(String),
    /// A request to the gateway took longer than its limit.
    Timeout(u64),
    /// The current role of the user a staff member's change concerns could
    /// not be read from Podero (why: the error inside), so the change is
    /// not sent (fail closed).
    RoleCheckFailed(Box<GatewayError>),
    /// Too many requests without a session from this client.
    RateLimited { retry_after_secs: u64 },
    /// The right one-time password, but it has expired.
    OneTimePasswordExpired,
    /// The audit record of an operation could not be written.
    AuditUnavailable,
}

impl GatewayError {
    /// What a person is told, in `lang` (the catalog's `error.*` texts).
    pub fn message(&self, lang: Lang) -> String {
        let t = |key: &str, args: &[(&str, &str)]| tr(lang, key, args);
        let fields = |errors: &[FieldError]| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message_in(lang)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match self {
            GatewayError::BadPath(m)
            | GatewayError::BadQuery(m)
            | GatewayError::Forbidden(m)
            | GatewayError::OwnAccount(m)
            | GatewayError::NotFound(m) => m.text(lang),
            GatewayError::RouteNotAllowed => t("error.route_not_allowed", &[]),
            GatewayError::MethodNotAllowed(_) => t("error.method_not_allowed", &[]),
            GatewayError::OrgForbidden => t("error.org_forbidden", &[]),
            GatewayError::PayloadTooLarge(bytes) => {
                t("error.payload_too_large", &[("bytes", &bytes.to_string())])
            }
            GatewayError::BadBody => t("error.bad_body", &[]),
            GatewayError::UnsupportedEncoding(encoding) => {
                t("error.unsupported_encoding", &[("encoding", encoding)])
            }
            GatewayError::UpstreamUnreachable { base_url, cause } => t(
                "error.upstream_unreachable",
                &[("base_url", base_url), ("cause", cause)],
            ),
            GatewayError::UpstreamTimeout {
                base_url,
                timeout_secs,
            } => t(
                "error.upstream_timeout",
                &[
                    ("seconds", &decimal(*timeout_secs, lang)),
                    ("base_url", base_url),
                ],
            ),
            GatewayError::UpstreamAuthFailed { status } => t(
                "error.upstream_auth_failed",
                &[("status", &status.to_string())],
            ),
            GatewayError::UpstreamBadResponse(m) => {
                t("error.upstream_bad_response", &[("detail", &m.text(lang))])
            }
            GatewayError::InvalidQuery(errors)
            | GatewayError::MappingRefused { errors, .. }
            | GatewayError::InvalidBody(errors)
            | GatewayError::Conflict(errors) => fields(errors),
            GatewayError::UsersUnavailable(m) => {
                t("error.users_unavailable", &[("reason", &m.text(lang))])
            }
            GatewayError::NotSignedIn => t("error.not_signed_in", &[]),
            GatewayError::SessionExpired => t("error.session_expired", &[]),
            GatewayError::SignInFailed => t("error.sign_in_failed", &[]),
            GatewayError::TooManyAttempts { retry_after_secs } => t(
                "error.too_many_attempts",
                &[("minutes", &retry_after_secs.div_ceil(60).to_string())],
            ),
            GatewayError::CsrfMissing => t("error.csrf_missing", &[]),
            GatewayError::CsrfMismatch => t("error.csrf_mismatch", &[]),
            GatewayError::CrossSite => t("error.cross_site", &[]),
            GatewayError::PasswordChangeRequired => t("error.password_change_required", &[]),
            GatewayError::Podero { status, error } => t(
                "error.podero",
                &[
                    ("status", &status.to_string()),
                    ("summary", &error.summary()),
                ],
            ),
            GatewayError::Database(cause) => t("error.database", &[("cause", cause)]),
            GatewayError::Internal(cause) => t("error.internal", &[("cause", cause)]),
            GatewayError::Timeout(secs) => t("error.timeout", &[("seconds", &secs.to_string())]),
            GatewayError::RoleCheckFailed(cause) => t(
                "error.role_check_failed",
                &[("cause", &cause.message(lang))],
            ),
            GatewayError::RateLimited { retry_after_secs } => t(
                "error.rate_limited",
                &[("seconds", &retry_after_secs.to_string())],
            ),
            GatewayError::OneTimePasswordExpired => t("error.one_time_password_expired", &[]),
            GatewayError::AuditUnavailable => t("error.audit_unavailable", &[]),
        }
    }
}

/// A number of seconds such as `2.5`, with a decimal comma in German.
fn decimal(value: f64, lang: Lang) -> String {
    let text = value.to_string();
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for GatewayError {}

/// The gateway's own error for an answer that a tower layer made without
/// one (the body limit's 413, the time limit's 504, a caught panic's
/// 500), so every `/api` error is JSON with a `code`.
pub fn for_bare_status(
    status: StatusCode,
    allow: Option<&HeaderValue>,
    body_limit: usize,
    time_limit_secs: u64,
) -> Option<GatewayError> {
    match status {
        // axum's own answers: a path parameter it could not decode, a
        // method the route does not have (its `Allow` header kept).
        StatusCode::BAD_REQUEST => Some(GatewayError::BadPath(Msg::new("error.path.invalid"))),
        StatusCode::METHOD_NOT_ALLOWED => Some(GatewayError::MethodNotAllowed(
            allow
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(',')
                .filter_map(|m| m.trim().parse().ok())
                .collect(),
        )),
        StatusCode::PAYLOAD_TOO_LARGE => Some(GatewayError::PayloadTooLarge(body_limit)),
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => {
            Some(GatewayError::Timeout(time_limit_secs))
        }
        StatusCode::INTERNAL_SERVER_ERROR => Some(GatewayError::Internal(
            "a request handler failed (panicked)".into(),
        )),
        _ => None,
    }
}

/// The `code` of a gateway error, kept on its response (as an extension)
/// so the audit record can name why a request was refused.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl GatewayError {
    /// HTTP status of the answer to the browser.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadPath(_)
            | GatewayError::BadQuery(_)
            | GatewayError::BadBody
            | GatewayError::InvalidQuery(_)
            | GatewayError::MappingRefused { .. } => StatusCode::BAD_REQUEST,
            GatewayError::UsersUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::RouteNotAllowed => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::OrgForbidden => StatusCode::FORBIDDEN,
            GatewayError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GatewayError::UpstreamUnreachable { .. }
            | GatewayError::UpstreamAuthFailed { .. }
            | GatewayError::UpstreamBadResponse(_) => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::NotSignedIn
            | GatewayError::SessionExpired
            | GatewayError::SignInFailed => StatusCode::UNAUTHORIZED,
            GatewayError::TooManyAttempts { .. } | GatewayError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::OneTimePasswordExpired => StatusCode::UNAUTHORIZED,
            GatewayError::RoleCheckFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::CsrfMissing
            | GatewayError::CsrfMismatch
            | GatewayError::CrossSite
            | GatewayError::PasswordChangeRequired
            | GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::OwnAccount(_) | GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Podero { status, .. } => *status,
            GatewayError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::Database(_)
            | GatewayError::Internal(_)
            | GatewayError::AuditUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Machine-readable `code` of the body.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::BadPath(_) => "bad_path",
            GatewayError::BadQuery(_) => "bad_query",
            GatewayError::BadBody => "bad_body",
            GatewayError::UnsupportedEncoding(_) => "unsupported_encoding",
            GatewayError::RouteNotAllowed => "route_not_allowed",
            GatewayError::MethodNotAllowed(_) => "method_not_allowed",
            GatewayError::OrgForbidden => "org_forbidden",
            GatewayError::PayloadTooLarge(_) => "payload_too_large",
            GatewayError::UpstreamUnreachable { .. } => "upstream_unreachable",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
            GatewayError::UpstreamAuthFailed { .. } => "upstream_auth_failed",
            GatewayError::UpstreamBadResponse(_) => "upstream_bad_response",
            GatewayError::InvalidQuery(_) | GatewayError::MappingRefused { .. } => "invalid_query",
            GatewayError::UsersUnavailable(_) => "users_unavailable",
            GatewayError::InvalidBody(_) => "invalid_body",
            GatewayError::NotSignedIn => "not_signed_in",
            GatewayError::SessionExpired => "session_expired",
            GatewayError::SignInFailed => "sign_in_failed",
            GatewayError::TooManyAttempts { .. } => "too_many_attempts",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::OneTimePasswordExpired => "one_time_password_expired",
            GatewayError::RoleCheckFailed(_) => "role_check_failed",
            GatewayError::CsrfMissing => "csrf_missing",
            GatewayError::CsrfMismatch => "csrf_mismatch",
            GatewayError::CrossSite => "cross_site",
            GatewayError::PasswordChangeRequired => "password_change_required",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::OwnAccount(_) => "own_account",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::Conflict(_) => "conflict",
            GatewayError::Podero { .. } => "podero_refused",
            GatewayError::Database(_) => "database",
            GatewayError::Internal(_) => "internal",
            GatewayError::AuditUnavailable => "audit_unavailable",
            GatewayError::Timeout(_) => "gateway_timeout",
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), "{self}");
        } else {
            tracing::debug!(code = self.code(), "{self}");
        }
        let lang = crate::lang::current();
        let localized = |errors: &[FieldError]| -> Vec<FieldError> {
            errors.iter().cloned().map(|e| e.localized(lang)).collect()
        };
        let body = match &self {
            // Field-shaped, like Podero's 422s, but located in the query.
            GatewayError::InvalidQuery(errors) | GatewayError::MappingRefused { errors, .. } => {
                let mut body = ApiError::validation(&localized(errors));
                if let ErrorDetail::Validation(issues) = &mut body.detail {
                    for issue in issues {
                        issue.loc[0] = "query".into();
                    }
                }
                if let GatewayError::MappingRefused { columns, .. } = &self {
                    body.columns = Some(columns.clone());
                }
                body.with_code(self.code())
            }
            GatewayError::InvalidBody(errors) | GatewayError::Conflict(errors) => {
                ApiError::validation(&localized(errors)).with_code(self.code())
            }
            // Podero's own field-shaped answer, so the form shows it.
            GatewayError::Podero { error, .. } => error.clone().with_code(self.code()),
            // Details of internal failures go to the log only.
            GatewayError::Database(_) | GatewayError::Internal(_) => {
                ApiError::message(tr(lang, "error.server_failed", &[])).with_code(self.code())
            }
            _ => ApiError::message(self.message(lang)).with_code(self.code()),
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code()));
        if let GatewayError::TooManyAttempts { retry_after_secs }
        | GatewayError::RateLimited { retry_after_secs } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        // Without the methods (a 405 made by axum, whose router adds its
        // own `Allow` after the guard has answered), no header: an empty
        // one would stop axum from adding the right one.
        if let GatewayError::MethodNotAllowed(methods) = &self {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let (false, Ok(v)) = (methods.is_empty(), HeaderValue::from_str(&allow)) {
                response.headers_mut().insert(header::ALLOW, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every catalog key the gateway's code names (`"error.…"`, `"csv.…"`
    /// string literals) is in both languages.
    #[test]
    fn every_key_the_gateway_names_is_in_the_catalog() {
        fn walk(dir: &std::path::Path, keys: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, keys);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for literal in text.split('"').skip(1).step_by(2) {
                        let is_key = ["error.", "csv."].iter().any(|p| literal.starts_with(p))
                            && literal
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                            && !literal.ends_with('.');
                        if is_key {
                            keys.push(literal.to_string());
                        }
                    }
                }
            }
        }
        let mut keys = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut keys,
        );
        assert!(keys.len() > 60, "{keys:?}");
        for key in keys {
            for lang in Lang::ALL {
                assert_ne!(tr(lang, &key, &[]), key, "{key} is not in {lang:?}");
            }
        }
    }

    #[test]
    fn messages_in_german_and_english() {
        let errors = [
            GatewayError::SignInFailed,
            GatewayError::TooManyAttempts {
                retry_after_secs: 61,
            },
            GatewayError::UpstreamTimeout {
                base_url: "http://podero".into(),
                timeout_secs: 2.5,
            },
            GatewayError::Forbidden(
                Msg::new("error.forbidden.admins_only")
                    .with_text("action", "error.admin_action.see_team")
                    .with_text("role", "staff_role.viewer"),
            ),
            GatewayError::RoleCheckFailed(Box::new(GatewayError::UpstreamBadResponse(Msg::new(
                "error.upstream.unusable_response",
            )))),
            GatewayError::UsersUnavailable(Msg::plain("connection refused")),
            GatewayError::InvalidBody(vec![shared::Email::parse("a").unwrap_err()]),
        ];
        let english: Vec<String> = errors.iter().map(|e| e.message(Lang::En)).collect();
        let german: Vec<String> = errors.iter().map(|e| e.message(Lang::De)).collect();
        assert_eq!(
            english,
            [
                "The e-mail address or the password is not right.",
                "Too many failed sign-ins. Try again in 2 minute(s), or ask an admin to set a new password.",
                "Podero did not answer within 2.5 s (at http://podero)",
                "Only admins can see the team; your role is Viewer.",
                "The change was not sent: the role of the user it concerns could not be read from Podero (Podero answered unexpectedly: unusable response). Try again in a moment.",
                "the list of users is not available yet: connection refused",
                "email: An e-mail address needs an @, e.g. anna.huber@example.at.",
            ]
        );
        assert_eq!(
            german,
            [
                "E-Mail-Adresse oder Passwort sind nicht korrekt.",
                "Zu viele fehlgeschlagene Anmeldeversuche. Bitte versuchen Sie es in 2 Minute(n) erneut oder bitten Sie einen Admin um ein neues Passwort.",
                "Podero hat nicht innerhalb von 2,5 s geantwortet (unter http://podero).",
                "Nur Admins können das Team einsehen; Ihre Rolle ist Nur Lesen.",
                "Die Änderung wurde nicht gesendet: Die Rolle des betroffenen Benutzers konnte nicht bei Podero abgefragt werden (Podero hat unerwartet geantwortet: Unbrauchbare Antwort.). Bitte versuchen Sie es gleich noch einmal.",
                "Die Benutzerliste ist noch nicht verfügbar: connection refused",
                "email: Eine E-Mail-Adresse braucht ein @, z. B. anna.huber@example.at.",
            ]
        );
        // The log says it in English.
        assert_eq!(errors[0].to_string(), english[0]);
    }
}
