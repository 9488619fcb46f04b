//! The simulated manufacturer sign-in that a reconnection link opens.
//!
//! Real Podero sends the customer to the manufacturer's cloud; here a small
//! page with "Connect" and "Cancel" stands in for it, so the support journey
//! (link -> customer reconnects -> device is authenticated again) can be
//! walked end to end on a developer machine. The page speaks German or
//! English, as the customer's browser asks (`Accept-Language`, German for
//! `de-*`); its texts are the shared catalog's `emulator.connect.*`
//! (`shared/locales/`).

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use shared::{tr, Lang};
use uuid::Uuid;

use crate::error::RawBody;
use crate::state::Emulator;

/// The largest form the page's buttons send (`action=connect`) and more.
const MAX_FORM: usize = 1024;

/// The session id of the path: `None` if it is not a UUID (or not even
/// UTF-8 once percent-decoded), which the page answers as an unknown link.
fn session_id(path: Result<Path<String>, PathRejection>) -> Option<Uuid> {
    path.ok().and_then(|Path(id)| super::path_uuid(&id))
}

/// Headers of every answer of the customer page: it may not be framed (a
/// hidden "Connect" under another site's click), is not cached, runs no
/// script, and its address (a secret link) is not sent on as a referrer.
pub async fn page_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(name, header::HeaderValue::from_static(value));
    }
    resp
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The browser's language.
fn language(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// The catalog's text `emulator.connect.{key}` in `lang`, HTML-escaped.
fn text(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    escape(&tr(lang, &format!("emulator.connect.{key}"), args))
}

/// A page titled by the text `title`, with `body` (HTML) below.
fn shell(lang: Lang, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}\
         button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}</style></head>\
         <body><p><small>{banner}</small></p><h1>{t}</h1>{body}</body></html>",
        code = lang.code(),
        t = title,
        banner = text(lang, "banner", &[]),
    ))
}

/// A page with a title and one paragraph, both catalog texts.
fn notice(lang: Lang, title: &str, paragraph: &str) -> Html<String> {
    shell(
        lang,
        &text(lang, title, &[]),
        &format!("<p>{}</p>", text(lang, paragraph, &[])),
    )
}

fn link_not_found(lang: Lang) -> Response {
    (
        StatusCode::NOT_FOUND,
        notice(lang, "not_found_title", "not_found"),
    )
        .into_response()
}

pub async fn page(
    State(emu): State<Arc<Emulator>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = language(&headers);
    let view = match session_id(id) {
        Some(id) => emu.session_view(id).await,
        None => None,
    };
    let Some(view) = view else {
        return link_not_found(lang);
    };
    if view.expired {
        return (
            StatusCode::GONE,
            notice(lang, "expired_title", "ask_for_new_link"),
        )
            .into_response();
    }
    if let Some(done) = view.outcome {
        let msg = if done {
            "already_connected"
        } else {
            "was_cancelled"
        };
        return notice(lang, "used_title", msg).into_response();
    }
    let device = view.device_label(lang);
    shell(
        lang,
        &text(lang, "title", &[("device", &device)]),
        &format!(
            "<p>{}</p>\
             <form method=\"post\"><button name=\"action\" value=\"connect\" data-testid=\"emulator-connect\">{}</button>\
             <button name=\"action\" value=\"cancel\">{}</button></form>",
            text(lang, "intro", &[("name", &view.owner)]),
            text(lang, "connect", &[]),
            text(lang, "cancel", &[]),
        ),
    )
    .into_response()
}

/// What the page's form sends: which button was pressed.
#[derive(Deserialize)]
pub struct Choice {
    action: String,
}

/// `connect` or `cancel` from the page's form (`action=connect`), `None`
/// for anything else: a form not sent by the page changes nothing.
fn choice(body: Result<RawBody<MAX_FORM>, crate::error::EmuError>) -> Option<bool> {
    let RawBody(body) = body.ok()?;
    match serde_urlencoded::from_bytes::<Choice>(&body)
        .ok()?
        .action
        .as_str()
    {
        "connect" => Some(true),
        "cancel" => Some(false),
        _ => None,
    }
}

pub async fn complete(
    State(emu): State<Arc<Emulator>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<RawBody<MAX_FORM>, crate::error::EmuError>,
) -> Response {
    let lang = language(&headers);
    let Some(id) = session_id(id) else {
        return link_not_found(lang);
    };
    let Some(connect) = choice(body) else {
        return (
            StatusCode::BAD_REQUEST,
            notice(lang, "bad_form_title", "bad_form"),
        )
            .into_response();
    };
    match emu.complete_session(id, connect).await {
        // A URL stored before they were checked that cannot be a Location:
        // the page of the outcome instead.
        Ok(Some(url)) if header::HeaderValue::from_str(&url).is_ok() => {
            (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response()
        }
        Ok(_) if connect => notice(lang, "connected_title", "connected").into_response(),
        Ok(_) => notice(lang, "cancelled_title", "cancelled").into_response(),
        Err(_) => (
            StatusCode::GONE,
            notice(lang, "no_longer_valid_title", "ask_for_new_link"),
        )
            .into_response(),
    }
}
