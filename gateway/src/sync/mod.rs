//! Keeping Podero in sync with the utility's customer master (issue 16).
//!
//! A customer file ([`file`]: CSV as billing systems write it) is read,
//! each row checked by the shared validators ([`customer`]) and compared
//! with the users read model ([`diff`]): the dry run. Applying it is a
//! run ([`store`]: its rows and their outcomes in the database) that the
//! once-per-cluster job [`apply`] works through within a request budget,
//! one audit record per write. [`quality`] finds user data that hurts
//! optimisation or support, in the organisation and in a file.

pub mod customer;
pub mod diff;
pub mod file;
pub mod quality;

use shared::sync::{DiffKind, DryRun};

pub use diff::{diff, Diff, Planned, Write};
pub use file::{CustomerFile, Mapping};

/// The dry run's answer: `all` keeps the unchanged rows too.
pub fn dry_run(file: &CustomerFile, mapping: &Mapping, d: Diff, all: bool) -> DryRun {
    DryRun {
        counts: d.counts,
        headers: file.headers.clone(),
        mapping: mapping.describe(&file.headers),
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
