//! The emulator's one error type and the JSON body extractor.
//!
//! Every error answers with a JSON body in the shape REFERENCE.md guesses for
//! Podero (Django-Ninja defaults): `{"detail": "message"}`, or for
//! validation `{"detail": [{"type", "loc", "msg"}]}`. Malformed request
//! bodies become 422s that name the field, never axum's plain-text rejection;
//! a body over [`MAX_BODY`] is a 413, a compressed one a 415, one that does
//! not arrive in time a 408, a broken one a 400, a method the path does not
//! take a 405 (with `Allow`), each with a JSON message.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use shared::{ApiError, ErrorDetail, FieldError, OAuthError, ValidationIssue};

use crate::state::Emulator;

#[derive(Debug)]
pub enum EmuError {
    /// 401 on API routes; `WWW-Authenticate: Bearer`.
    Unauthenticated(&'static str),
    /// 401/400 on the token endpoint, OAuth style.
    OAuth(StatusCode, &'static str, &'static str),
    Forbidden(&'static str),
    NotFound,
    /// 404 for a path the emulator does not have at all.
    NoSuchPath,
    /// 409 naming the field that clashes.
    Conflict(FieldError),
    Validation(Vec<ValidationIssue>),
    /// 413: the body is over this many bytes.
    TooLarge(usize),
    /// 415: the body is compressed with this `Content-Encoding`.
    Encoded(String),
    /// 400: the request itself is broken (e.g. its chunked body).
    BadRequest(&'static str),
    /// 408: the body did not arrive within this many seconds.
    BodyTimeout(u64),
    /// 405: the path exists, the method does not (axum adds `Allow`).
    MethodNotAllowed,
    Internal(String),
}

impl EmuError {
    pub fn fields(errors: Vec<FieldError>) -> Self {
        match ApiError::validation(&errors).detail {
            ErrorDetail::Validation(issues) => EmuError::Validation(issues),
            ErrorDetail::Message(_) => EmuError::Internal("validation".into()),
        }
    }

    pub fn field(field: &str, msg: impl Into<String>) -> Self {
        Self::fields(vec![FieldError::new(field, msg)])
    }

    pub fn query(field: &str, msg: impl Into<String>) -> Self {
        EmuError::Validation(vec![ValidationIssue {
            kind: "value_error".into(),
            loc: vec!["query".into(), field.into()],
            msg: msg.into(),
        }])
    }
}

impl From<std::io::Error> for EmuError {
    fn from(e: std::io::Error) -> Self {
        EmuError::Internal(format!("storage: {e}"))
    }
}

impl IntoResponse for EmuError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            EmuError::Unauthenticated(msg) => {
                let mut r =
                    (StatusCode::UNAUTHORIZED, Json(ApiError::message(msg))).into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return r;
            }
            EmuError::OAuth(status, error, description) => {
                let body = OAuthError {
                    error: error.into(),
                    error_description: Some(description.into()),
                };
                let mut r = (status, Json(body)).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    // RFC 6749 §5.2: a 401 names the scheme to authenticate with.
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"oauth2\""),
                    );
                }
                return r;
            }
            EmuError::Forbidden(msg) => (StatusCode::FORBIDDEN, ApiError::message(msg)),
            EmuError::NotFound => (StatusCode::NOT_FOUND, ApiError::message("Not found.")),
            EmuError::NoSuchPath => (
                StatusCode::NOT_FOUND,
                ApiError::message(
                    "Not found: there is no such path. The Partner API is under \
                     /api/partners/v2.0/org/{org_id}/users…, tokens at /oauth2/token/; \
                     paths take no trailing slash or double slashes, and energy contracts, \
                     onboarding sessions, cues and time series are not emulated.",
                ),
            ),
            EmuError::Conflict(fe) => {
                let issue = ValidationIssue {
                    kind: "unique".into(),
                    loc: vec!["body".into(), fe.field.clone().into()],
                    msg: fe.message,
                };
                (
                    StatusCode::CONFLICT,
                    ApiError {
                        detail: ErrorDetail::Validation(vec![issue]),
                        code: None,
                        columns: None,
                    },
                )
            }
            EmuError::Validation(issues) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiError {
                    detail: ErrorDetail::Validation(issues),
                    code: None,
                    columns: None,
                },
            ),
            EmuError::TooLarge(max) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::message(format!(
                    "The request body is too large: at most {max} bytes are accepted."
                )),
            ),
            EmuError::Encoded(encoding) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ApiError::message(format!(
                    "The request body is compressed (Content-Encoding: {encoding}); send it uncompressed, without Content-Encoding."
                )),
            ),
            EmuError::BadRequest(msg) => (StatusCode::BAD_REQUEST, ApiError::message(msg)),
            EmuError::BodyTimeout(secs) => (
                StatusCode::REQUEST_TIMEOUT,
                ApiError::message(format!(
                    "The request body did not arrive within {secs} s; send it at once."
                )),
            ),
            EmuError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ApiError::message(
                    "Method not allowed: this path takes only the methods in the Allow header.",
                ),
            ),
            EmuError::Internal(msg) => {
                tracing::error!(error = %msg, "emulator internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ApiError::message("Internal server error."),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// The largest request body read (bytes), as axum's default; the test
/// hook takes less (`routes::hooks::MAX_BODY`).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// A request body of at most `MAX` bytes, uncompressed: 413 if longer
/// (announced or sent, chunked or not; reading stops at the bound), 415 if
/// it carries a `Content-Encoding`, 408 if it has not arrived whole within
/// the emulator's body time limit (`EmulatorConfig::body_timeout`), 400 if
/// its chunked encoding is broken.
pub struct RawBody<const MAX: usize = MAX_BODY>(pub Bytes);

impl<const MAX: usize> FromRequest<Arc<Emulator>> for RawBody<MAX> {
    type Rejection = EmuError;

    async fn from_request(req: Request, emu: &Arc<Emulator>) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).into_owned();
            if !encoding.trim().eq_ignore_ascii_case("identity") {
                return Err(EmuError::Encoded(encoding));
            }
        }
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > MAX as u64) {
            return Err(EmuError::TooLarge(MAX));
        }
        let limited = http_body_util::Limited::new(req.into_body(), MAX);
        let limit = emu.body_timeout();
        match tokio::time::timeout(limit, limited.collect()).await {
            Err(_) => Err(EmuError::BodyTimeout(limit.as_secs().max(1))),
            Ok(Ok(collected)) => Ok(RawBody(collected.to_bytes())),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                Err(EmuError::TooLarge(MAX))
            }
            // A broken chunked encoding, or the client went away while
            // sending (then nobody reads the answer).
            Ok(Err(_)) => Err(EmuError::BadRequest(
                "The request body could not be read to its end: check its Content-Length or chunked encoding.",
            )),
        }
    }
}

/// A JSON request body whose errors are 422s naming the field (and 413 /
/// 415 as [`RawBody`]).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Emulator>> for ApiJson<T> {
    type Rejection = EmuError;

    async fn from_request(req: Request, emu: &Arc<Emulator>) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let RawBody(bytes) = RawBody::<MAX_BODY>::from_request(req, emu).await?;
        parse_json(&bytes)
            .map(ApiJson)
            .map_err(|e| json_hint(e, &headers))
    }
}

/// A body that is not JSON at all, sent with another `Content-Type` (a
/// form, say, as `curl -d` sends without `-H 'Content-Type: …'`): the 422
/// says to send JSON and names the type it came with. (A JSON body is read
/// whatever its `Content-Type`.)
pub fn json_hint(e: EmuError, headers: &axum::http::HeaderMap) -> EmuError {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match (e, content_type) {
        (EmuError::Validation(mut issues), Some(ct))
            if !ct.to_ascii_lowercase().contains("json")
                && issues.len() == 1
                && issues[0].kind == "json_invalid" =>
        {
            let issue = &mut issues[0];
            issue.msg = format!(
                "{}: the body is not JSON. Send a JSON object with Content-Type: application/json (this one came as {ct}).",
                issue.msg
            );
            EmuError::Validation(issues)
        }
        (e, _) => e,
    }
}

/// Parse JSON with the path of the offending field in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EmuError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(EmuError::Validation(vec![ValidationIssue {
            kind: "missing".into(),
            loc: vec!["body".into()],
            msg: "A JSON request body is required.".into(),
        }]));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // serde names a missing field only in its message: "missing field `x`".
        let field = msg
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        let mut loc: Vec<serde_json::Value> = vec!["body".into()];
        if path != "." {
            loc.extend(
                path.split('.')
                    .map(|p| serde_json::Value::from(p.to_string())),
            );
        }
        // serde_json says "expected value" (a syntax error) for a number,
        // null, list or object where an enum wants its string, though the
        // JSON is well formed: say what is wrong instead.
        let enum_wrong_type = inner.is_syntax()
            && path != "."
            && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        let (kind, loc) = match field {
            Some(f) => ("missing", {
                loc.push(f.into());
                loc
            }),
            None if enum_wrong_type => ("type_error", loc),
            None if inner.is_syntax() || inner.is_eof() => ("json_invalid", loc),
            None => ("type_error", loc),
        };
        let clean = if enum_wrong_type {
            format!(
                "{} must be one of its documented values, as a string (not a number, null, list or object).",
                path.rsplit('.').next().unwrap_or(&path)
            )
        } else {
            msg.split(" at line ").next().unwrap_or(&msg).to_string()
        };
        EmuError::Validation(vec![ValidationIssue {
            kind: kind.into(),
            loc,
            msg: clean,
        }])
    })
}
