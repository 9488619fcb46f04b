//! `/api/sync/…`: bulk sync of end-users with a customer file.
//!
//! The file is the request body (CSV, at most
//! [`shared::sync::MAX_FILE_BYTES`]; these routes are outside the 16 KiB
//! limit of the other own endpoints and bound the body themselves, a
//! larger one is a `413 payload_too_large`). The query sets the column
//! mapping (`<field>=<header>`, see [`shared::sync`]). Reading and
//! comparing run on the blocking pool. Admins and staff may sync (it only
//! ever touches end-users); viewers may read runs and the data-quality
//! report.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::staff::StaffRole;
use shared::sync::{
    DiffRow, DryRun, QualityReport, RunState, SyncRun, MAX_FILE_BYTES, QUALITY_CSV_PATH,
    QUALITY_PATH, SYNC_DRY_RUN_PATH, SYNC_RUNS_PATH,
};
use shared::{tr, ApiError, Lang};
use uuid::Uuid;

use crate::audit::Note;
use crate::auth::Actor;
use crate::csv::CsvWriter;
use crate::directory::{Directory, Snapshot};
use crate::error::{GatewayError, Msg};
use crate::podero::Podero;
use crate::request::ClientAddr;
use crate::routes::{read_body, PlainBody};
use crate::startup::{AppState, Settings};
use crate::sync::quality::Filter;
use crate::sync::store::{Starter, StoredRun, SyncStore};
use crate::sync::{diff, dry_run, CustomerFile, Diff, Mapping};

/// What starting a run needs.
#[derive(Debug, Clone)]
pub struct SyncState {
    dir: Arc<Directory>,
    podero: Podero,
    store: SyncStore,
    settings: Settings,
}

impl FromRef<AppState> for SyncState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            dir: s.directory.clone(),
            podero: s.podero.clone(),
            store: s.sync.clone(),
            settings: s.settings.clone(),
        }
    }
}

/// The query's pairs.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Whether the query sets `name` to `true`.
pub(crate) fn flag(pairs: &[(String, String)], name: &str) -> bool {
    pairs.iter().any(|(k, v)| k == name && v == "true")
}

/// Staff and admins only (a viewer reads).
pub(crate) fn may_sync(actor: &Actor) -> Result<(), GatewayError> {
    if actor.role() == StaffRole::Viewer {
        return Err(GatewayError::Forbidden(Msg::new(
            "error.forbidden.viewer_reads_only",
        )));
    }
    Ok(())
}

/// The uploaded file, at most [`MAX_FILE_BYTES`].
pub(crate) async fn read_file(body: Body) -> Result<Bytes, GatewayError> {
    let limited = Body::new(http_body_util::Limited::new(body, MAX_FILE_BYTES));
    read_body(limited, MAX_FILE_BYTES).await
}

/// Parse `bytes` and compare them with the read model (blocking pool).
pub(crate) async fn compare(
    dir: &Arc<Directory>,
    podero: &Podero,
    bytes: Bytes,
    pairs: Vec<(String, String)>,
    lang: Lang,
    keep_unchanged: bool,
) -> Result<(CustomerFile, Mapping, Diff, Arc<Snapshot>), GatewayError> {
    let snapshot = dir.snapshot(podero.request_timeout()).await?;
    let snap = snapshot.clone();
    let result = tokio::task::spawn_blocking(move || {
        let file = crate::sync::file::parse(&bytes)
            .map_err(|e| GatewayError::InvalidBody(vec![e.localized(lang)]))?;
        let mapping = Mapping::with_overrides(&file.headers, &pairs).map_err(|errors| {
            GatewayError::InvalidQuery(errors.into_iter().map(|e| e.localized(lang)).collect())
        })?;
        let d = diff(&file, &mapping, &snap, lang, keep_unchanged);
        Ok::<_, GatewayError>((file, mapping, d))
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("sync compare task: {e}")))??;
    Ok((result.0, result.1, result.2, snapshot))
}

/// The CSV header of the diff.
const DIFF_COLUMNS: [&str; 8] = [
    "line",
    "kind",
    "customer_number",
    "email",
    "user_id",
    "changes",
    "problems",
    "quality",
];

fn diff_csv(rows: &[DiffRow], lang: Lang) -> Vec<u8> {
    let header: Vec<String> = DIFF_COLUMNS
        .iter()
        .map(|c| tr(lang, &format!("sync.report.{c}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut w = CsvWriter::new(&header);
    for r in rows {
        let changes: Vec<String> = r
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
            .collect();
        let problems: Vec<String> = r
            .problems
            .iter()
            .map(|p| {
                if p.column.is_empty() {
                    p.error.message.clone()
                } else {
                    format!("{}: {}", p.column, p.error.message)
                }
            })
            .collect();
        let quality: Vec<String> = r
            .quality
            .iter()
            .map(|q| {
                let label = tr(lang, &q.problem.label_key(), &[]);
                if q.detail.is_empty() {
                    label
                } else {
                    format!("{label} ({})", q.detail)
                }
            })
            .collect();
        w.row([
            r.line.to_string(),
            r.kind.as_str().to_string(),
            r.external_user_id.clone().unwrap_or_default(),
            r.email.clone().unwrap_or_default(),
            r.user_id.map(|u| u.to_string()).unwrap_or_default(),
            changes.join("; "),
            problems.join("; "),
            quality.join("; "),
        ]);
    }
    w.take()
}

/// `POST /api/sync/dry-run`.
#[utoipa::path(
    post,
    path = SYNC_DRY_RUN_PATH,
    tag = "sync",
    operation_id = "sync_dry_run",
    summary = "Compare a customer file with the organisation",
    description = "The body is the customer file (CSV: `,` or `;`, UTF-8 with or without BOM \
        or Windows-1252, a header row). Nothing is written. Answers the counts (`new`, \
        `changed`, `unchanged`, `invalid`, `conflicts`, `missing`) and the rows (unchanged ones \
        only with `unchanged=true`); `format=csv` answers every row as CSV. Query: \
        `<field>=<header>` sets a column (fields: external_user_id, email, first_name, \
        last_name, street_and_number, street_add_info, zip_code, town, country_iso2, latitude, \
        longitude; an empty header leaves the field out).",
    request_body(content = String, content_type = "text/csv", description = "The customer file."),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "The comparison.", body = DryRun),
        (status = 400, description = "`invalid_query`: a mapping names a column the file does \
            not have, or no column is the e-mail.", body = ApiError),
        (status = 403, description = "`forbidden`: viewers cannot sync.", body = ApiError),
        (status = 413, description = "`payload_too_large`: the file is larger than 32 MiB.",
            body = ApiError),
        (status = 422, description = "`invalid_body`: the file cannot be read (no header, a \
            broken record, too many rows).", body = ApiError),
        (status = 503, description = "`users_unavailable`: no users snapshot yet.",
            body = ApiError),
    )
)]
pub async fn dry_run_handler(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    actor: Actor,
    RawQuery(query): RawQuery,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    may_sync(&actor)?;
    let pairs = query_pairs(query.as_deref());
    let all = flag(&pairs, "unchanged");
    let csv = pairs.iter().any(|(k, v)| k == "format" && v == "csv");
    let bytes = read_file(body).await?;
    let lang = crate::lang::current();
    let (file, mapping, d, _) = compare(&dir, &podero, bytes, pairs, lang, all || csv).await?;
    let answer = dry_run(&file, &mapping, d, all || csv);
    if csv {
        return Ok(crate::csv::download(
            "sync-dry-run",
            diff_csv(&answer.rows, lang),
        ));
    }
    Ok(Json(answer).into_response())
}

/// A SyncRun's state for the answer.
async fn summary(
    store: &SyncStore,
    run: &StoredRun,
    settings: &Settings,
) -> Result<SyncRun, GatewayError> {
    store.summary(run, settings.sync_rps).await
}

fn parse_run_id(id: &str) -> Result<Uuid, GatewayError> {
    Uuid::parse_str(id).map_err(|_| GatewayError::BadPath(Msg::new("error.path.sync_run_id")))
}

async fn stored(store: &SyncStore, id: &str) -> Result<StoredRun, GatewayError> {
    store
        .get(parse_run_id(id)?)
        .await?
        .ok_or_else(|| GatewayError::NotFound(Msg::new("error.not_found.sync_run")))
}

/// `GET /api/sync/runs`: the latest runs.
#[utoipa::path(
    get,
    path = SYNC_RUNS_PATH,
    tag = "sync",
    operation_id = "sync_runs",
    summary = "The latest sync runs",
    description = "The latest 20 runs, newest first, with their progress.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses((status = 200, description = "The runs.", body = Vec<SyncRun>))
)]
pub async fn runs(
    State(store): State<SyncStore>,
    State(settings): State<Settings>,
) -> Result<Json<Vec<SyncRun>>, GatewayError> {
    let mut out = Vec::new();
    for run in store.latest(20).await? {
        out.push(summary(&store, &run, &settings).await?);
    }
    Ok(Json(out))
}

/// `POST /api/sync/runs`: apply a customer file.
#[utoipa::path(
    post,
    path = SYNC_RUNS_PATH,
    tag = "sync",
    operation_id = "sync_start",
    summary = "Apply a customer file",
    description = "Compares the file like the dry run (same query) and stores the writes it \
        needs as a run that a background job applies within the request budget \
        (`GATEWAY_SYNC_RPS`); `archive_missing=true` also archives the end-users the file \
        does not have. Invalid and conflicting rows are not written. One run at a time.",
    request_body(content = String, content_type = "text/csv", description = "The customer file."),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 202, description = "The run is stored and runs (or is done at once when \
            there is nothing to write).", body = SyncRun),
        (status = 400, description = "`invalid_query`: a bad mapping.", body = ApiError),
        (status = 403, description = "`forbidden`: viewers cannot sync.", body = ApiError),
        (status = 409, description = "`conflict`: another run is running or paused.",
            body = ApiError),
        (status = 413, description = "`payload_too_large`: the file is larger than 32 MiB.",
            body = ApiError),
        (status = 422, description = "`invalid_body`: the file cannot be read.", body = ApiError),
    )
)]
pub async fn start(
    State(SyncState {
        dir,
        podero,
        store,
        settings,
    }): State<SyncState>,
    Extension(note): Extension<Note>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    actor: Actor,
    RawQuery(query): RawQuery,
    PlainBody(body): PlainBody,
) -> Result<Response, GatewayError> {
    may_sync(&actor)?;
    let pairs = query_pairs(query.as_deref());
    let archive_missing = flag(&pairs, "archive_missing");
    let bytes = read_file(body).await?;
    let lang = crate::lang::current();
    if store.active().await?.is_some() {
        return Err(GatewayError::Conflict(vec![shared::FieldError::keyed(
            "run",
            "sync.run.in_progress",
            &[],
        )
        .localized(lang)]));
    }
    let (_, _, d, _) = compare(&dir, &podero, bytes, pairs, lang, true).await?;
    let id = Uuid::new_v4();
    let counts = d.counts;
    let rows = crate::sync::plan(d, archive_missing);
    note.detail(format!(
        "sync {id}: {} new, {} changed, {} to archive",
        counts.new,
        counts.changed,
        if archive_missing { counts.missing } else { 0 }
    ));
    note.begin().await?;
    let starter = Starter {
        actor_id: Some(actor.account.id),
        actor_email: actor.account.email.clone(),
        client_addr: client,
    };
    store.create(id, &starter, &rows).await?;
    let run = stored(&store, &id.to_string()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(summary(&store, &run, &settings).await?),
    )
        .into_response())
}

/// `GET /api/sync/runs/{id}`.
#[utoipa::path(
    get,
    path = "/api/sync/runs/{id}",
    tag = "sync",
    operation_id = "sync_run",
    summary = "A sync run's progress",
    params(("id" = Uuid, Path, description = "The run's id.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The run.", body = SyncRun),
        (status = 400, description = "`bad_path`: the id is not a UUID.", body = ApiError),
        (status = 404, description = "`not_found`: no such run.", body = ApiError),
    )
)]
pub async fn run(
    State(store): State<SyncStore>,
    State(settings): State<Settings>,
    Path(id): Path<String>,
) -> Result<Json<SyncRun>, GatewayError> {
    let run = stored(&store, &id).await?;
    Ok(Json(summary(&store, &run, &settings).await?))
}

/// Pause or resume: the run must be in `from`.
async fn switch(
    store: &SyncStore,
    settings: &Settings,
    note: &Note,
    actor: &Actor,
    id: &str,
    from: RunState,
    to: RunState,
) -> Result<Json<SyncRun>, GatewayError> {
    may_sync(actor)?;
    let run = stored(store, id).await?;
    note.detail(format!("sync {}", run.id));
    note.begin().await?;
    store.set_state(run.id, from, to).await?;
    let run = stored(store, id).await?;
    Ok(Json(summary(store, &run, settings).await?))
}

/// `POST /api/sync/runs/{id}/pause`.
#[utoipa::path(
    post,
    path = "/api/sync/runs/{id}/pause",
    tag = "sync",
    operation_id = "sync_pause",
    summary = "Pause a sync run",
    description = "The job stops before the next row; nothing happens to a run that is not \
        running.",
    params(("id" = Uuid, Path, description = "The run's id.")),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "The run.", body = SyncRun),
        (status = 403, description = "`forbidden`: viewers cannot sync.", body = ApiError),
        (status = 404, description = "`not_found`: no such run.", body = ApiError),
    )
)]
pub async fn pause(
    State(store): State<SyncStore>,
    State(settings): State<Settings>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<SyncRun>, GatewayError> {
    switch(
        &store,
        &settings,
        &note,
        &actor,
        &id,
        RunState::Running,
        RunState::Paused,
    )
    .await
}

/// `POST /api/sync/runs/{id}/resume`.
#[utoipa::path(
    post,
    path = "/api/sync/runs/{id}/resume",
    tag = "sync",
    operation_id = "sync_resume",
    summary = "Resume a paused sync run",
    params(("id" = Uuid, Path, description = "The run's id.")),
    security(("session" = ["admin", "staff"], "csrf" = [])),
    responses(
        (status = 200, description = "The run.", body = SyncRun),
        (status = 403, description = "`forbidden`: viewers cannot sync.", body = ApiError),
        (status = 404, description = "`not_found`: no such run.", body = ApiError),
    )
)]
pub async fn resume(
    State(store): State<SyncStore>,
    State(settings): State<Settings>,
    Extension(note): Extension<Note>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<SyncRun>, GatewayError> {
    switch(
        &store,
        &settings,
        &note,
        &actor,
        &id,
        RunState::Paused,
        RunState::Running,
    )
    .await
}

/// The CSV header of a run's report.
const REPORT_COLUMNS: [&str; 7] = [
    "line",
    "outcome",
    "customer_number",
    "email",
    "user_id",
    "reason",
    "changes",
];

/// `GET /api/sync/runs/{id}/report.csv`.
#[utoipa::path(
    get,
    path = "/api/sync/runs/{id}/report.csv",
    tag = "sync",
    operation_id = "sync_report",
    summary = "A sync run's report as CSV",
    description = "Every row of the run: line, outcome (pending, created, updated, archived, \
        skipped, failed), customer number, e-mail, user id, reason, changes.",
    params(("id" = Uuid, Path, description = "The run's id.")),
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The CSV file.", content_type = crate::csv::CONTENT_TYPE,
            body = String),
        (status = 404, description = "`not_found`: no such run.", body = ApiError),
    )
)]
pub async fn report(
    State(store): State<SyncStore>,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let run = stored(&store, &id).await?;
    let lang = crate::lang::current();
    let header: Vec<String> = REPORT_COLUMNS
        .iter()
        .map(|c| tr(lang, &format!("sync.report.{c}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut w = CsvWriter::new(&header);
    let mut after = -1;
    loop {
        let rows = store.rows(run.id, after, 5_000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in rows {
            let reason = match r.reason.as_deref() {
                Some(key) if key.starts_with("sync.run.") => tr(lang, key, &[]),
                other => other.unwrap_or_default().to_string(),
            };
            let changes: Vec<String> = r
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
                .collect();
            w.row([
                if r.line == 0 {
                    String::new()
                } else {
                    r.line.to_string()
                },
                r.outcome.as_str().to_string(),
                r.external_user_id.unwrap_or_default(),
                r.email.unwrap_or_default(),
                r.user_id.map(|u| u.to_string()).unwrap_or_default(),
                reason,
                changes.join("; "),
            ]);
        }
    }
    Ok(crate::csv::download("sync-report", w.take()))
}

fn quality_filter(query: Option<&str>) -> Result<Filter, GatewayError> {
    Filter::parse(&query_pairs(query)).map_err(|errors| {
        let lang = crate::lang::current();
        GatewayError::InvalidQuery(errors.into_iter().map(|e| e.localized(lang)).collect())
    })
}

/// Build the report on the blocking pool.
async fn quality_report(
    dir: Arc<Directory>,
    podero: &Podero,
    f: Filter,
    all: bool,
) -> Result<QualityReport, GatewayError> {
    let snapshot = dir.snapshot(podero.request_timeout()).await?;
    tokio::task::spawn_blocking(move || crate::sync::quality::report(&snapshot, &f, all))
        .await
        .map_err(|e| GatewayError::Internal(format!("quality report task: {e}")))
}

/// `GET /api/sync/quality`.
#[utoipa::path(
    get,
    path = QUALITY_PATH,
    tag = "sync",
    operation_id = "quality_report",
    summary = "Data-quality report of the end-users",
    description = "Active end-users whose data hurts optimisation or support: coordinates \
        missing, outside their country or far from the other users of their postal code; a \
        postal code not valid for the country; a town that disagrees with the postal code's \
        other users; a name missing. Counts per problem and one page of users. Query: \
        `problem`, `q` (words), `page`, `per_page` (at most 500).",
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The report.", body = QualityReport),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
        (status = 503, description = "`users_unavailable`: no users snapshot yet.",
            body = ApiError),
    )
)]
pub async fn quality(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    RawQuery(query): RawQuery,
) -> Result<Json<QualityReport>, GatewayError> {
    let f = quality_filter(query.as_deref())?;
    Ok(Json(quality_report(dir, &podero, f, false).await?))
}

/// `GET /api/sync/quality.csv`.
#[utoipa::path(
    get,
    path = QUALITY_CSV_PATH,
    tag = "sync",
    operation_id = "quality_csv",
    summary = "The data-quality report as CSV",
    description = "Every user the filter matches (all pages), one row per user and problem.",
    security(("session" = ["admin", "staff", "viewer"])),
    responses(
        (status = 200, description = "The CSV file.", content_type = crate::csv::CONTENT_TYPE,
            body = String),
        (status = 400, description = "`invalid_query`: a parameter has a bad value.",
            body = ApiError),
    )
)]
pub async fn quality_csv(
    State(dir): State<Arc<Directory>>,
    State(podero): State<Podero>,
    RawQuery(query): RawQuery,
) -> Result<Response, GatewayError> {
    let f = quality_filter(query.as_deref())?;
    let lang = crate::lang::current();
    let report = quality_report(dir, &podero, f, true).await?;
    let header: Vec<String> = [
        "user_id",
        "customer_number",
        "email",
        "name",
        "zip_code",
        "town",
        "country",
        "problem",
        "detail",
    ]
    .iter()
    .map(|c| tr(lang, &format!("sync.quality_csv.{c}"), &[]))
    .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut w = CsvWriter::new(&header);
    for r in &report.rows {
        for i in &r.issues {
            w.row([
                r.user_id.to_string(),
                r.external_user_id.clone().unwrap_or_default(),
                r.email.clone(),
                r.name.clone(),
                r.zip_code.clone().unwrap_or_default(),
                r.town.clone().unwrap_or_default(),
                r.country.clone().unwrap_or_default(),
                tr(lang, &i.problem.label_key(), &[]),
                i.detail.clone(),
            ]);
        }
    }
    Ok(crate::csv::download("data-quality", w.take()))
}
