//! The gateway's own user endpoints, answered from the read model
//! ([`crate::directory`]): a page of the users list, the CSV export of every
//! user a query matches, "refresh now", and the "Needs reconnection" report.
//! The query string is [`UserQuery`]'s; a bad parameter (a search longer
//! than [`shared::directory::MAX_SEARCH_CHARS`] among them) is a 400 naming
//! it. Filtering walks every user, so it runs on the blocking pool, never
//! on the async workers that answer other requests.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use shared::directory::{
    Freshness, ReconnectionReport, UserPage, UserQuery, UserRow, DIRECTORY_CSV_PATH,
    DIRECTORY_RECONNECTION_PATH, DIRECTORY_REFRESH_PATH, DIRECTORY_USERS_PATH,
};
use shared::ApiError;

use crate::csv::CsvWriter;
use crate::directory::snapshot::{csv_header, csv_row};
use crate::directory::Directory;
use crate::error::GatewayError;
use crate::openapi::UserQueryParams;
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
#[utoipa::path(
    get,
    path = DIRECTORY_USERS_PATH,
    tag = "directory",
    operation_id = "users",
    summary = "One page of the users list",
    description = "Searched, filtered, sorted and paged from the gateway's snapshot of the \
        organisation's users, with the total, the organisation's counts, how fresh the \
        snapshot is and the reconnection scan's state. Unknown parameters are ignored.",
    params(UserQueryParams),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The page.", body = UserPage),
        (status = 400, description = "`invalid_query`: a parameter has a bad value (`loc`: \
            `[\"query\", name]`).", body = ApiError),
        (status = 503, description = "`users_unavailable`: no snapshot yet (the first one \
            failed or is still loading).", body = ApiError),
    )
)]
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
#[utoipa::path(
    get,
    path = DIRECTORY_CSV_PATH,
    tag = "directory",
    operation_id = "users_csv",
    summary = "The users list as CSV",
    description = "Every user the query matches (all pages, `page` and `per_page` aside), in \
        its order: UTF-8 with a byte-order mark, every cell quoted, formulas disarmed; the \
        header in the request's language.",
    params(UserQueryParams),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The CSV file.", content_type = crate::csv::CONTENT_TYPE,
            body = String,
            headers(("Content-Disposition" = String, description = "`attachment; \
                filename=\"users-<time>.csv\"`"))),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
        (status = 503, description = "`users_unavailable`: no snapshot yet.", body = ApiError),
    )
)]
pub async fn users_csv(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    let q = parse(query)?;
    let header = csv_header(crate::lang::current());
    let snapshot = dir.snapshot(podero.request_timeout()).await?;
    // The few users with lost devices, copied: the scan goes on meanwhile.
    let lost = dir.scanner().with_lost(|lost| lost.clone());
    let (tx, body) = crate::csv::channel();
    // Written while it is downloaded, a chunk at a time: a million users
    // never sit in memory as one file.
    tokio::task::spawn_blocking(move || {
        let m = snapshot.query(&q, &lost, true);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut out = CsvWriter::new(&header);
        let scanned = !lost.is_empty();
        for u in m.users() {
            csv_row(
                &mut out,
                &u,
                scanned.then(|| lost.get(&u.id).copied().unwrap_or(0)),
            );
            if out.len() >= crate::csv::CHUNK
                && tx.blocking_send(Ok(Bytes::from(out.take()))).is_err()
            {
                return; // the download was abandoned
            }
        }
        let _ = tx.blocking_send(Ok(Bytes::from(out.take())));
    });
    Ok(crate::csv::download("users", Body::from_stream(body)))
}

/// `POST /api/directory/refresh`: take a new snapshot now (202; the answer
/// says a refresh is under way, the app polls the list for the new time).
#[utoipa::path(
    post,
    path = DIRECTORY_REFRESH_PATH,
    tag = "directory",
    operation_id = "users_refresh",
    summary = "Refresh the users snapshot now",
    description = "Asks for a new snapshot (requests meanwhile are answered from the old \
        one); the app polls the list for the new `loaded_at`. Changes nothing.",
    security(("session" = ["admin", "staff", "viewer"], "csrf" = [])),
    responses((status = 202, description = "A refresh is under way.", body = Freshness))
)]
pub async fn refresh(State(dir): State<Arc<Directory>>) -> (StatusCode, Json<Freshness>) {
    dir.request_refresh();
    (StatusCode::ACCEPTED, Json(dir.freshness()))
}

/// `GET /api/directory/reconnection`: progress and lost devices so far.
#[utoipa::path(
    get,
    path = DIRECTORY_RECONNECTION_PATH,
    tag = "directory",
    operation_id = "reconnection_report",
    summary = "The \"Needs reconnection\" report",
    description = "The reconnection scan's progress and the devices found so far whose \
        manufacturer connection is lost, with their owners.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses((status = 200, description = "The report.", body = ReconnectionReport))
)]
pub async fn reconnection(State(dir): State<Arc<Directory>>) -> Json<ReconnectionReport> {
    Json(dir.scanner().report())
}

/// `POST /api/directory/reconnection`: start a scan (no-op while one runs).
#[utoipa::path(
    post,
    path = DIRECTORY_RECONNECTION_PATH,
    tag = "directory",
    operation_id = "reconnection_scan",
    summary = "Start the reconnection scan",
    description = "Reads the device lists of every active user with devices (a few requests \
        to Podero at a time); nothing happens while a scan runs. Changes nothing.",
    security(("session" = ["admin", "staff", "viewer"], "csrf" = [])),
    responses((status = 202, description = "The scan runs; the report so far.",
        body = ReconnectionReport))
)]
pub async fn start_scan(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
) -> (StatusCode, Json<ReconnectionReport>) {
    dir.scanner().start(dir.clone(), podero);
    (StatusCode::ACCEPTED, Json(dir.scanner().report()))
}
