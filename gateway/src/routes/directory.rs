//! The gateway's own user endpoints, answered from the read model
//! ([`crate::directory`]): a page of the users list, the CSV export of every
//! user a query matches, "refresh now", and the "Needs reconnection" report.
//! The query string is [`UserQuery`]'s; a bad parameter is a 400 naming it.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use shared::directory::{Freshness, ReconnectionReport, UserPage, UserQuery, UserRow};

use crate::directory::snapshot::{csv_row, CSV_HEADER};
use crate::error::GatewayError;
use crate::startup::AppState;

fn parse(query: Option<String>) -> Result<UserQuery, GatewayError> {
    UserQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

/// `GET /api/directory/users?…`: one page, the total, and how fresh it is.
pub async fn users(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<UserPage>, GatewayError> {
    let q = parse(query)?;
    let dir = state.directory();
    let snapshot = dir.snapshot(state.upstream_timeout()).await?;
    let page = dir.scanner().with_lost(|lost| {
        let scanned = !lost.is_empty()
            || dir.scanner().progress().state == shared::directory::ScanState::Done;
        let m = snapshot.query(&q, lost, false);
        UserPage {
            rows: m
                .users()
                .map(|user| UserRow {
                    lost_devices: scanned.then(|| lost.get(&user.id).copied().unwrap_or(0)),
                    user,
                })
                .collect(),
            total: m.total,
            page: q.page,
            per_page: q.per_page,
            active_users: snapshot.active,
            archived_users: snapshot.archived,
            freshness: dir.freshness(),
            scan: dir.scanner().progress(),
        }
    });
    Ok(Json(page))
}

/// `GET /api/directory/users.csv?…`: every matching user (all pages), in
/// the query's order, as a UTF-8 CSV download (with a byte-order mark so
/// spreadsheet programs read umlauts right).
pub async fn users_csv(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    let q = parse(query)?;
    let dir = state.directory();
    let snapshot = dir.snapshot(state.upstream_timeout()).await?;
    let body = dir.scanner().with_lost(|lost| {
        let m = snapshot.query(&q, lost, true);
        let mut out = String::with_capacity(64 + m.total * 200);
        out.push(crate::csv::BOM);
        out.push_str(CSV_HEADER);
        let scanned = !lost.is_empty();
        for u in m.users() {
            csv_row(
                &mut out,
                &u,
                scanned.then(|| lost.get(&u.id).copied().unwrap_or(0)),
            );
        }
        out
    });
    Ok(crate::csv::download("users", body))
}

/// `POST /api/directory/refresh`: take a new snapshot now (202; the answer
/// says a refresh is under way, the app polls the list for the new time).
pub async fn refresh(State(state): State<AppState>) -> (StatusCode, Json<Freshness>) {
    state.directory().request_refresh();
    (StatusCode::ACCEPTED, Json(state.directory().freshness()))
}

/// `GET /api/directory/reconnection`: progress and lost devices so far.
pub async fn reconnection(State(state): State<AppState>) -> Json<ReconnectionReport> {
    Json(state.directory().scanner().report())
}

/// `POST /api/directory/reconnection`: start a scan (no-op while one runs).
pub async fn start_scan(State(state): State<AppState>) -> (StatusCode, Json<ReconnectionReport>) {
    state.directory().scanner().start(state.clone());
    (
        StatusCode::ACCEPTED,
        Json(state.directory().scanner().report()),
    )
}
