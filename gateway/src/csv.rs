//! CSV exports (the users list, the audit trail): one way to write a field
//! and one way to answer a download.
//!
//! Fields are quoted when needed, and a field starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return gets a leading `'` so a spreadsheet
//! does not run it as a formula. Bodies start with [`BOM`] so Excel reads
//! UTF-8.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

/// The byte-order mark every CSV body starts with (Excel then reads UTF-8).
pub const BOM: char = '\u{feff}';

/// Append one CSV field.
pub fn field(out: &mut String, value: &str) {
    let guarded = matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let needs_quotes = guarded || value.contains([',', '"', '\n', '\r']) || value.starts_with(' ');
    if needs_quotes {
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Append one CSV line of `fields`.
pub fn line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

/// A CSV download named `<name>-<UTC time>.csv`, never cached.
pub fn download(name: &str, body: impl Into<Body>) -> Response {
    let filename = format!("{name}-{}.csv", Utc::now().format("%Y%m%d-%H%M"));
    let mut response = body.into().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
