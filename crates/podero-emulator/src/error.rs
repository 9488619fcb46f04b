//! The emulator's one error type and the JSON body extractor.
//!
//! Every error answers with a JSON body in the shape REFERENCE.md guesses for
//! Podero (Django-Ninja defaults): `{"detail": "message"}`, or for
//! validation `{"detail": [{"type", "loc", "msg"}]}`. Malformed request
//! bodies become 422s that name the field, never axum's plain-text rejection.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use shared::{ApiError, ErrorDetail, FieldError, OAuthError, ValidationIssue};

#[derive(Debug)]
pub enum EmuError {
    /// 401 on API routes; `WWW-Authenticate: Bearer`.
    Unauthenticated(&'static str),
    /// 401/400 on the token endpoint, OAuth style.
    OAuth(StatusCode, &'static str, &'static str),
    Forbidden(&'static str),
    NotFound,
    /// 409 naming the field that clashes.
    Conflict(FieldError),
    Validation(Vec<ValidationIssue>),
    /// 413: the body is over this many bytes.
    TooLarge(usize),
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
                return (status, Json(body)).into_response();
            }
            EmuError::Forbidden(msg) => (StatusCode::FORBIDDEN, ApiError::message(msg)),
            EmuError::NotFound => (StatusCode::NOT_FOUND, ApiError::message("Not found.")),
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
                    },
                )
            }
            EmuError::Validation(issues) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiError {
                    detail: ErrorDetail::Validation(issues),
                    code: None,
                },
            ),
            EmuError::TooLarge(max) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::message(format!(
                    "The request body is too large: at most {max} bytes are accepted."
                )),
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

/// A JSON request body whose errors are 422s naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = EmuError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| EmuError::field("body", "The request body could not be read."))?;
        parse_json(&bytes).map(ApiJson)
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
        let (kind, loc) = match field {
            Some(f) => ("missing", {
                loc.push(f.into());
                loc
            }),
            None if inner.is_syntax() || inner.is_eof() => ("json_invalid", loc),
            None => ("type_error", loc),
        };
        let clean = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        EmuError::Validation(vec![ValidationIssue {
            kind: kind.into(),
            loc,
            msg: clean,
        }])
    })
}
