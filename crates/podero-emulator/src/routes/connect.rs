//! The simulated manufacturer sign-in that a reconnection link opens.
//!
//! Real Podero sends the customer to the manufacturer's cloud; here a small
//! page with "Connect" and "Cancel" stands in for it, so the support journey
//! (link -> customer reconnects -> device is authenticated again) can be
//! walked end to end on a developer machine.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::state::Emulator;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn shell(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}\
         button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}</style></head>\
         <body><p><small>Podero emulator: simulated manufacturer sign-in</small></p><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
}

fn link_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        shell(
            "Link not found",
            "<p>This reconnection link is unknown.</p>",
        ),
    )
        .into_response()
}

pub async fn page(State(emu): State<Arc<Emulator>>, Path(id): Path<String>) -> Response {
    let view = match Uuid::parse_str(&id) {
        Ok(id) => emu.session_view(id).await,
        Err(_) => None,
    };
    let Some(view) = view else {
        return link_not_found();
    };
    if view.expired {
        return (
            StatusCode::GONE,
            shell(
                "Link expired",
                "<p>Ask your energy provider for a new link.</p>",
            ),
        )
            .into_response();
    }
    if let Some(done) = view.outcome {
        let msg = if done {
            "This device is already connected."
        } else {
            "This link was cancelled."
        };
        return shell("Link used", &format!("<p>{msg}</p>")).into_response();
    }
    shell(
        &format!("Connect your {}", view.device_label),
        &format!(
            "<p>Hello {}, sign in to your manufacturer account to allow your energy provider to optimise this device.</p>\
             <form method=\"post\"><button name=\"action\" value=\"connect\" data-testid=\"emulator-connect\">Connect</button>\
             <button name=\"action\" value=\"cancel\">Cancel</button></form>",
            escape(&view.owner)
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct Choice {
    action: String,
}

pub async fn complete(
    State(emu): State<Arc<Emulator>>,
    Path(id): Path<String>,
    Form(choice): Form<Choice>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return link_not_found();
    };
    let connect = choice.action == "connect";
    match emu.complete_session(id, connect).await {
        Ok(Some(url)) => (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response(),
        Ok(None) if connect => shell(
            "Device connected",
            "<p>Thank you. Your device is connected again; you can close this page.</p>",
        )
        .into_response(),
        Ok(None) => shell("Cancelled", "<p>Nothing was changed.</p>").into_response(),
        Err(_) => (
            StatusCode::GONE,
            shell(
                "Link no longer valid",
                "<p>Ask your energy provider for a new link.</p>",
            ),
        )
            .into_response(),
    }
}
