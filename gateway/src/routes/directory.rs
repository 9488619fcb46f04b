//! The gateway's own user endpoints, answered from the read model
//! ([`crate::directory`]): a page of the users list, the CSV export of every
//! user a query matches, "refresh now", and the "Needs reconnection" report.
//! The query string is [`UserQuery`]'s; a bad parameter (a search longer
//! than [`shared::directory::MAX_SEARCH_CHARS`] among them) is a 400 naming
//! it. Filtering walks every user, so it runs on the blocking pool, never
//! on the async workers that answer other requests.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use shared::directory::{Freshness, ReconnectionReport, UserPage, UserQuery, UserRow};

use crate::csv::CsvWriter;
use crate::directory::snapshot::{csv_header, csv_row};
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::podero::Podero;

fn parse(query: Option<String>) -> Result<UserQuery, GatewayError> {
    UserQuery::parse(query.as_deref().unwrap_or("")).map_err(GatewayError::InvalidQuery)
}

/// Run `f` with the read model on the blocking pool.
async fn blocking<R: Send + 'static>(
    dir: Arc<Directory>,
    podero: &Podero,
    f: impl FnOnce(&Directory, &crate::directory::Snapshot) -> R + Send + 'static,
) -> Result<R, GatewayError> {
    let snapshot = dir.snapshot(podero.request_timeout()).await?;
    tokio::task::spawn_blocking(move || f(&dir, &snapshot))
        .await
        .map_err(|e| GatewayError::Internal(format!("users query task: {e}")))
}

/// `GET /api/directory/users?…`: one page, the total, and how fresh it is.
pub async fn users(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    RawQuery(query): RawQuery,
) -> Result<Json<UserPage>, GatewayError> {
    let q = parse(query)?;
    let page = blocking(dir, &podero, move |dir, snapshot| {
        dir.scanner().with_lost(|lost| {
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
        })
    })
    .await?;
    Ok(Json(page))
}

/// `GET /api/directory/users.csv?…`: every matching user (all pages), in
/// the query's order, as a UTF-8 CSV download (with a byte-order mark so
/// spreadsheet programs read umlauts right); the header in the request's
/// language, the columns always in the same order.
pub async fn users_csv(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    let q = parse(query)?;
    let header = csv_header(crate::lang::current());
    let body = blocking(dir, &podero, move |dir, snapshot| {
        dir.scanner().with_lost(|lost| {
            let m = snapshot.query(&q, lost, true);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut out = CsvWriter::new(&header);
            let scanned = !lost.is_empty();
            for u in m.users() {
                csv_row(
                    &mut out,
                    &u,
                    scanned.then(|| lost.get(&u.id).copied().unwrap_or(0)),
                );
            }
            out.take()
        })
    })
    .await?;
    Ok(crate::csv::download("users", body))
}

/// `POST /api/directory/refresh`: take a new snapshot now (202; the answer
/// says a refresh is under way, the app polls the list for the new time).
pub async fn refresh(State(dir): State<Arc<Directory>>) -> (StatusCode, Json<Freshness>) {
    dir.request_refresh();
    (StatusCode::ACCEPTED, Json(dir.freshness()))
}

/// `GET /api/directory/reconnection`: progress and lost devices so far.
pub async fn reconnection(State(dir): State<Arc<Directory>>) -> Json<ReconnectionReport> {
    Json(dir.scanner().report())
}

/// `POST /api/directory/reconnection`: start a scan (no-op while one runs).
pub async fn start_scan(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
) -> (StatusCode, Json<ReconnectionReport>) {
    dir.scanner().start(dir.clone(), podero);
    (StatusCode::ACCEPTED, Json(dir.scanner().report()))
}
