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
}

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
            GatewayError::InvalidBody(errors) => {
                ApiError::validation(errors).with_code(self.code())
            }
            _ => ApiError::message(self.to_string()).with_code(self.code()),
        };
        let mut response = (status, axum::Json(body)).into_response();
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
