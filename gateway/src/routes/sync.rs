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
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::staff::StaffRole;
use shared::sync::{DiffRow, DryRun, MAX_FILE_BYTES, SYNC_DRY_RUN_PATH};
use shared::{tr, ApiError, Lang};

use crate::auth::Actor;
use crate::csv::CsvWriter;
use crate::directory::{Directory, Snapshot};
use crate::error::{GatewayError, Msg};
use crate::podero::Podero;
use crate::routes::read_body;
use crate::sync::{diff, dry_run, CustomerFile, Diff, Mapping};

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
) -> Result<(CustomerFile, Mapping, Diff, Arc<Snapshot>), GatewayError> {
    let snapshot = dir.snapshot(podero.request_timeout()).await?;
    let snap = snapshot.clone();
    let result = tokio::task::spawn_blocking(move || {
        let file = crate::sync::file::parse(&bytes)
            .map_err(|e| GatewayError::InvalidBody(vec![e.localized(lang)]))?;
        let mapping = Mapping::with_overrides(&file.headers, &pairs).map_err(|errors| {
            GatewayError::InvalidQuery(errors.into_iter().map(|e| e.localized(lang)).collect())
        })?;
        let d = diff(&file, &mapping, &snap, lang);
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
    body: Body,
) -> Result<Response, GatewayError> {
    may_sync(&actor)?;
    let pairs = query_pairs(query.as_deref());
    let all = flag(&pairs, "unchanged");
    let csv = pairs.iter().any(|(k, v)| k == "format" && v == "csv");
    let bytes = read_file(body).await?;
    let lang = crate::lang::current();
    let (file, mapping, d, _) = compare(&dir, &podero, bytes, pairs, lang).await?;
    let answer = dry_run(&file, &mapping, d, all || csv);
    if csv {
        return Ok(crate::csv::download(
            "sync-dry-run",
            diff_csv(&answer.rows, lang),
        ));
    }
    Ok(Json(answer).into_response())
}
