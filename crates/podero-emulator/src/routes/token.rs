//! `POST /oauth2/token/`: the OAuth2 client-credentials token endpoint.
//!
//! Accepts the documented JSON body with HTTP Basic client authentication,
//! and the form-encoded body django-oauth-toolkit also takes (client id and
//! secret in the form). Errors are OAuth-style (`{"error": …}`).

use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use shared::TokenResponse;

use super::Emu;
use crate::error::{EmuError, RawBody};

/// The largest token request body read: the documented one is 36 bytes.
const MAX_TOKEN_BODY: usize = 8 * 1024;
use axum::extract::State;

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Headers of every token endpoint answer (RFC 6749 §5.1): a token is not
/// to be cached anywhere.
pub(crate) async fn no_store(mut resp: axum::response::Response) -> axum::response::Response {
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) async fn token(
    State(emu): Emu,
    headers: HeaderMap,
    body: Result<RawBody<MAX_TOKEN_BODY>, EmuError>,
) -> Result<Json<TokenResponse>, EmuError> {
    let RawBody(body) = body.map_err(|e| match e {
        EmuError::TooLarge(_) => EmuError::OAuth(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large (at most 8 KiB); send {\"grant_type\": \"client_credentials\"}.",
        ),
        EmuError::BodyTimeout(_) => EmuError::OAuth(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            "The request body did not arrive in time; send it at once.",
        ),
        EmuError::BadRequest(_) => EmuError::OAuth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body could not be read to its end.",
        ),
        EmuError::Encoded(_) => EmuError::OAuth(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "The request body is compressed (Content-Encoding); send it uncompressed.",
        ),
        other => other,
    })?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.get(..33)
                .is_some_and(|t| t.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        });
    let bad_request =
        |d: &'static str| EmuError::OAuth(StatusCode::BAD_REQUEST, "invalid_request", d);
    let form: TokenForm = if is_form {
        serde_urlencoded::from_bytes(&body)
            .map_err(|_| {
                bad_request(
                    "The form body could not be parsed: give each parameter once, e.g. grant_type=client_credentials.",
                )
            })?
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            bad_request("Send a JSON body {\"grant_type\": \"client_credentials\"} with Content-Type: application/json.")
        })?
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    emu.tokens.check_client(
        basic,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    )?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return Err(bad_request(
                "grant_type is missing; use \"client_credentials\".",
            ))
        }
        Some(_) => {
            return Err(EmuError::OAuth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Only the client_credentials grant is supported.",
            ))
        }
    }
    Ok(Json(TokenResponse {
        access_token: emu.tokens.issue(),
        expires_in: emu.tokens.ttl().as_secs(),
        token_type: "Bearer".into(),
        scope: Some("read write".into()),
    }))
}
