//! Keeping Podero in sync with the utility's customer master (issue 16).
//!
//! A customer file ([`file`]: CSV as billing systems write it) is read,
//! each row checked by the shared validators ([`customer`]) and compared
//! with the users read model ([`diff`]): the dry run. Applying it is a
//! run ([`store`]: its rows and their outcomes in the database) that the
//! once-per-cluster job [`apply`] works through within a request budget,
//! one audit record per write. [`quality`] finds user data that hurts
//! optimisation or support, in the organisation and in a file.

pub mod apply;
pub mod customer;
pub mod diff;
pub mod file;
pub mod quality;
pub mod store;

use shared::sync::{DiffKind, DryRun};

pub use diff::{diff, Diff, Planned, Write};
pub use file::{CustomerFile, Mapping};

/// The dry run's answer: `all` keeps the unchanged rows too.
pub fn dry_run(file: &CustomerFile, mapping: &Mapping, d: Diff, all: bool) -> DryRun {
    DryRun {
        counts: d.counts,
        columns: mapping.describe(&file.headers),
        delimiter: char::from(file.delimiter).to_string(),
        encoding: file.encoding.to_string(),
        rows_read: u32::try_from(file.rows.len()).unwrap_or(u32::MAX),
        rows: d
            .rows
            .into_iter()
            .filter(|p| all || p.row.kind != DiffKind::Unchanged)
            .map(|p| p.row)
            .collect(),
        quality: d.quality,
    }
}

/// The rows of a run from a dry run: new and changed rows are written,
/// missing users archived when `archive_missing`; the others are stored
/// with their reason for the report.
pub fn plan(d: Diff, archive_missing: bool) -> Vec<store::NewRow> {
    use shared::sync::RowOutcome;
    use store::{NewRow, Op};
    let mut out = Vec::with_capacity(d.rows.len());
    for Planned { row, write } in d.rows {
        let (op, body, outcome, reason, changes) = match (row.kind, write) {
            (DiffKind::New, Some(Write::Create(body))) => {
                let body = serde_json::json!(body);
                let changes = crate::audit::created(&body);
                (
                    Some(Op::Create),
                    Some(body),
                    RowOutcome::Pending,
                    None,
                    changes,
                )
            }
            (DiffKind::Changed, Some(Write::Update(_, body))) => (
                Some(Op::Update),
                Some(serde_json::json!(body)),
                RowOutcome::Pending,
                None,
                row.changes,
            ),
            (DiffKind::Missing, Some(Write::Archive(_))) if archive_missing => (
                Some(Op::Archive),
                None,
                RowOutcome::Pending,
                None,
                Vec::new(),
            ),
            (DiffKind::Missing, _) => continue,
            (DiffKind::Unchanged, _) => (
                None,
                None,
                RowOutcome::Skipped,
                Some("sync.run.unchanged".to_string()),
                Vec::new(),
            ),
            (kind, _) => {
                let reason = row
                    .problems
                    .iter()
                    .map(|p| {
                        if p.column.is_empty() {
                            p.error.message.clone()
                        } else {
                            format!("{}: {}", p.column, p.error.message)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let outcome = if kind == DiffKind::Invalid {
                    RowOutcome::Failed
                } else {
                    RowOutcome::Skipped
                };
                (None, None, outcome, Some(reason), Vec::new())
            }
        };
        out.push(NewRow {
            line: row.line,
            op,
            user_id: row.user_id,
            external_user_id: row.external_user_id,
            email: row.email,
            body,
            changes,
            outcome,
            reason,
        });
    }
    out
}
