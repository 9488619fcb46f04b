//! The queue's matches as CSV (`GET /api/cases.csv`), headers in the
//! request's language, through the one [`crate::csv::CsvWriter`].

use chrono::Utc;
use shared::cases::Case;
use shared::{tr, Lang};

use crate::csv::CsvWriter;

/// Most rows one export holds (the whole queue of a large utility).
pub const MAX_ROWS: i64 = 200_000;

const COLUMNS: [&str; 14] = [
    "id",
    "state",
    "kind",
    "priority",
    "subject",
    "user_id",
    "customer",
    "device_id",
    "device",
    "assignee",
    "opened_at",
    "age",
    "lost_since",
    "resolved_at",
];

/// The CSV body of `cases`.
pub fn render(cases: &[Case], lang: Lang) -> Vec<u8> {
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|c| tr(lang, &format!("case_csv.{c}"), &[]))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = CsvWriter::new(&header);
    let now = Utc::now();
    let time = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    for c in cases {
        out.row([
            c.id.to_string(),
            c.state.label(lang),
            c.kind.label(lang),
            c.priority.label(lang),
            c.subject.clone(),
            c.user_id.to_string(),
            c.user_name.clone(),
            c.device_id.map(|d| d.to_string()).unwrap_or_default(),
            c.device_label.clone().unwrap_or_default(),
            c.assignee
                .as_ref()
                .map(|a| a.email.clone())
                .unwrap_or_default(),
            time(Some(c.opened_at)),
            super::age(c.opened_at, now),
            time(c.lost_since),
            time(c.resolved_at),
        ]);
    }
    out.take()
}
