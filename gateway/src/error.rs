//! The one error type of the gateway and how it becomes an HTTP response.
//!
//! Every failure a handler can meet — a refused path, a forbidden
//! organisation, an unreachable or slow Podero, rejected client credentials —
//! is a [`GatewayError`]. Its response body is always [`shared::ApiError`]
//! (`{"detail": "...", "code": "..."}`) so the browser app shows one kind of
//! error. Messages name the cause (and the configured Podero base URL where
//! useful) but never carry a token, the client secret or upstream headers.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::{ApiError, ErrorDetail, FieldError};

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The path contains `..`, `.`, empty segments, encoded slashes or
    /// control characters, or an id that is not a UUID.
    #[error("{0}")]
    BadPath(String),
    /// A query parameter the gateway understands has a bad value.
    #[error("{0}")]
    BadQuery(String),
    /// `/api/...` that is not on the allow-list.
    #[error("this route is not available through the gateway")]
    RouteNotAllowed,
    /// Allowed path, wrong method; carries the methods that are allowed.
    #[error("method not allowed on this route")]
    MethodNotAllowed(Vec<Method>),
    /// The path names another organisation than the configured one.
    #[error("this gateway serves only its own organisation")]
    OrgForbidden,
    /// The request body is above the limit (bytes).
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The request body could not be read.
    #[error("the request body could not be read")]
    BadBody,
    /// Podero could not be reached (DNS, connection refused, TLS...).
    #[error("Podero could not be reached at {base_url}: {cause}")]
    UpstreamUnreachable { base_url: String, cause: String },
    /// Podero did not answer within the configured time.
    #[error("Podero did not answer within {timeout_secs} s (at {base_url})")]
    UpstreamTimeout { base_url: String, timeout_secs: f64 },
    /// The token endpoint refused the gateway's client credentials.
    #[error(
        "Podero rejected the gateway's client credentials (HTTP {status} from the token endpoint); \
         check PODERO_CLIENT_ID and PODERO_CLIENT_SECRET"
    )]
    UpstreamAuthFailed { status: u16 },
    /// Podero answered something the gateway cannot use.
    #[error("Podero answered unexpectedly: {0}")]
    UpstreamBadResponse(String),
    /// Query parameters of a gateway endpoint with bad values, each named.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidQuery(Vec<FieldError>),
    /// A user body that the shared validation refuses (the same checks the
    /// app runs next to each field), answered before anything reaches Podero.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidBody(Vec<FieldError>),
    /// The read model has no list of users to answer from (the first
    /// snapshot failed or is still loading).
    #[error("the list of users is not available yet: {0}")]
    UsersUnavailable(String),
    /// No session cookie, or one this gateway does not know.
    #[error("Sign in to use the back-office.")]
    NotSignedIn,
    /// The session ended (signed out, ended by an admin, idle or too old).
    #[error("Your session has ended; sign in again.")]
    SessionExpired,
    /// Unknown e-mail or wrong password: one message for both.
    #[error("The e-mail address or the password is not right.")]
    SignInFailed,
    /// Too many failed sign-ins for the account or from the client.
    #[error("Too many failed sign-ins. Try again in {} minute(s), or ask an admin to set a new password.", .retry_after_secs.div_ceil(60))]
    TooManyAttempts { retry_after_secs: u64 },
    /// A state-changing request without the anti-forgery header.
    #[error("This request needs the X-Podero-CSRF header (the back-office app sends it; a form on another site cannot).")]
    CsrfMissing,
    /// The anti-forgery header does not belong to this session.
    #[error("The X-Podero-CSRF header does not match your session; reload the page.")]
    CsrfMismatch,
    /// A state-changing request sent by another site.
    #[error("Requests from other sites are refused.")]
    CrossSite,
    /// The account still has its one-time password.
    #[error("Change your one-time password first.")]
    PasswordChangeRequired,
    /// The role may not do this; the message says what and why.
    #[error("{0}")]
    Forbidden(String),
    /// An admin acting on their own account where that is not allowed.
    #[error("{0}")]
    OwnAccount(String),
    /// Something the gateway keeps does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Field-shaped conflict (e.g. an e-mail address already in use).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Conflict(Vec<FieldError>),
    /// Podero refused a call the gateway made itself; its answer is passed on.
    #[error("Podero answered HTTP {status}: {}", .error.summary())]
    Podero { status: StatusCode, error: ApiError },
    /// The gateway's own database failed.
    #[error("the back-office database failed: {0}")]
    Database(String),
    /// A bug or an exhausted resource inside the gateway.
    #[error("internal error: {0}")]
    Internal(String),
    /// A request to the gateway took longer than its limit.
    #[error("The back-office server did not finish this request within {0} s; try again.")]
    Timeout(u64),
    /// The current role of the user a staff member's change concerns could
    /// not be read from Podero, so the change is not sent (fail closed).
    #[error("The change was not sent: the role of the user it concerns could not be read from Podero ({0}). Try again in a moment.")]
    RoleCheckFailed(String),
    /// Too many requests without a session from this client.
    #[error("Too many requests without signing in from your address; wait {retry_after_secs} s, then sign in.")]
    RateLimited { retry_after_secs: u64 },
    /// The right one-time password, but it has expired.
    #[error("Your one-time password has expired; ask an admin for a new one.")]
    OneTimePasswordExpired,
    /// The audit record of an operation could not be written.
    #[error("The operation's audit record could not be written; the back-office database is failing. Tell your administrator.")]
    AuditUnavailable,
}

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
        StatusCode::BAD_REQUEST => Some(GatewayError::BadPath(
            "the path is not valid (an escape that is not UTF-8, or a malformed id)".into(),
        )),
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
            | GatewayError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            GatewayError::UsersUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::RouteNotAllowed => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::OrgForbidden => StatusCode::FORBIDDEN,
            GatewayError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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
            GatewayError::RouteNotAllowed => "route_not_allowed",
            GatewayError::MethodNotAllowed(_) => "method_not_allowed",
            GatewayError::OrgForbidden => "org_forbidden",
            GatewayError::PayloadTooLarge(_) => "payload_too_large",
            GatewayError::UpstreamUnreachable { .. } => "upstream_unreachable",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
            GatewayError::UpstreamAuthFailed { .. } => "upstream_auth_failed",
            GatewayError::UpstreamBadResponse(_) => "upstream_bad_response",
            GatewayError::InvalidQuery(_) => "invalid_query",
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
        let body = match &self {
            // Field-shaped, like Podero's 422s, but located in the query.
            GatewayError::InvalidQuery(errors) => {
                let mut body = ApiError::validation(errors);
                if let ErrorDetail::Validation(issues) = &mut body.detail {
                    for issue in issues {
                        issue.loc[0] = "query".into();
                    }
                }
                body.with_code(self.code())
            }
            GatewayError::InvalidBody(errors) | GatewayError::Conflict(errors) => {
                ApiError::validation(errors).with_code(self.code())
            }
            // Podero's own field-shaped answer, so the form shows it.
            GatewayError::Podero { error, .. } => error.clone().with_code(self.code()),
            // Details of internal failures go to the log only.
            GatewayError::Database(_) | GatewayError::Internal(_) => {
                ApiError::message("The back-office server failed; try again, and tell your administrator if it persists.")
                    .with_code(self.code())
            }
            _ => ApiError::message(self.to_string()).with_code(self.code()),
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
        if let GatewayError::MethodNotAllowed(methods) = &self {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
        }
        response
    }
}
