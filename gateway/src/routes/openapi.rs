//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the gateway's
//! own endpoints ([`crate::openapi`]), built once with the router and
//! handed to this handler as an extension. Public like `/healthz`: it holds
//! no data and no secret, and a client reads it before it can sign in.
//! Other methods get the gateway's JSON 405 ([`super::get_only`]).

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Extension;

use crate::openapi::{Document, OPENAPI_PATH};

#[utoipa::path(
    get,
    path = OPENAPI_PATH,
    tag = "meta",
    operation_id = "openapi",
    summary = "This description",
    description = "The OpenAPI 3.1 description of the gateway's own endpoints (not of the \
        forwarded Partner API calls).",
    responses((status = 200, description = "The OpenAPI document.", body = Object,
        content_type = "application/json"))
)]
pub async fn openapi_json(Extension(document): Extension<Document>) -> Response {
    let mut response = Response::new(Body::from(document.0));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
