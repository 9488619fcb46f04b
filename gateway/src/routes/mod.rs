//! Request handlers, one module per concern.
//!
//! [`health`] answers `/healthz`, [`session`] signs staff in and out and
//! changes passwords, [`app_info`] answers `/api/app-info`, [`directory`]
//! answers the users list, CSV export and reconnection report from the
//! read model, [`team`] manages colleagues (back-office account and Podero
//! team member together), [`audit`] reads the audit trail, [`cases`]
//! works support cases, [`watch`] answers the fleet watch's coverage and
//! the webhook's log, [`self_service`] creates, revokes and e-mails
//! customers' self-service links and reads the outbox, [`customer`] serves
//! the customer's own page (no staff session), [`sync`] compares and applies customer files and
//! reports data quality, [`proxy`] checks
//! and forwards allow-listed Partner API calls, [`openapi`] serves the
//! description of the gateway's own endpoints, and [`frontend`] serves the
//! Trunk-built browser app.

pub mod app_info;
pub mod audit;
pub mod cases;
pub mod customer;
pub mod directory;
pub mod frontend;
pub mod health;
pub mod openapi;
pub mod proxy;
pub mod self_service;
pub mod session;
pub mod sync;
pub mod team;
pub mod watch;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method};
use serde::de::DeserializeOwned;
use shared::FieldError;

use crate::error::GatewayError;

/// Largest body of the gateway's own endpoints (sign-in, team, password);
/// [`crate::startup::app`] sets it with `RequestBodyLimitLayer`.
pub const OWN_BODY_LIMIT: usize = 16 * 1024;

/// The answer to another method on a route that has only `GET` (and
/// `HEAD`): the gateway's JSON 405 with `Allow: GET, HEAD`.
pub async fn get_only() -> GatewayError {
    GatewayError::MethodNotAllowed(vec![Method::GET, Method::HEAD])
}

/// The body of a request to a gateway endpoint, as sent: a compressed one
/// (`Content-Encoding` other than `identity`) is refused with `415
/// unsupported_encoding` before it is read, instead of being parsed as
/// JSON or a customer file and refused for what the compressed bytes look
/// like.
pub struct PlainBody(pub Body);

impl<S: Send + Sync> FromRequest<S> for PlainBody {
    type Rejection = GatewayError;

    async fn from_request(req: Request, _: &S) -> Result<Self, GatewayError> {
        refuse_encoded(req.headers())?;
        Ok(PlainBody(req.into_body()))
    }
}

/// `415 unsupported_encoding` for a request whose body is compressed
/// (`Content-Encoding` other than `identity`): no endpoint reads one, and
/// the forwarded Partner API calls send JSON on as it came.
pub fn refuse_encoded(headers: &HeaderMap) -> Result<(), GatewayError> {
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes());
        let encoded = text
            .split(',')
            .map(str::trim)
            .any(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if encoded {
            let shown: String = text.chars().take(40).collect();
            return Err(GatewayError::UnsupportedEncoding(shown));
        }
    }
    Ok(())
}

/// Read a request body whose size the router's `RequestBodyLimitLayer`
/// bounds: over the limit is a 413 (`limit` names it), a broken body a 400.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return GatewayError::PayloadTooLarge(limit);
            }
            cause = c.source();
        }
        GatewayError::BadBody
    })
}

/// Read a JSON body of a gateway endpoint: at most [`OWN_BODY_LIMIT`]
/// bytes (413 otherwise), and a 422 naming what is wrong when it is not
/// the expected JSON.
pub async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, GatewayError> {
    let bytes = read_body(body, OWN_BODY_LIMIT).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        GatewayError::InvalidBody(vec![FieldError::keyed(
            "body",
            "error.field.body_not_expected_json",
            &[("cause", &e.to_string())],
        )])
    })
}
