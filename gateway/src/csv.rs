//! CSV exports (the users list, the audit trail): one writer and one way to
//! answer a download.
//!
//! Written by the `csv` crate with every field quoted, so a cell holding
//! `,` or `;` (German Excel splits on `;`) stays one cell; a field starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return also gets a leading
//! `'` so a spreadsheet does not run it as a formula. Bodies start with a
//! byte-order mark so Excel reads UTF-8.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

/// The byte-order mark every CSV body starts with (Excel then reads UTF-8).
pub const BOM: &str = "\u{feff}";

/// Rows written into a buffer that can be taken in chunks.
pub struct CsvWriter {
    inner: csv::Writer<Vec<u8>>,
}

fn writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf)
}

impl CsvWriter {
    /// A body starting with the byte-order mark and `header`.
    pub fn new(header: &[&str]) -> Self {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(BOM.as_bytes());
        let mut w = Self { inner: writer(buf) };
        w.row(header.iter().copied());
        w
    }

    /// Append one row.
    pub fn row<S: AsRef<str>>(&mut self, fields: impl IntoIterator<Item = S>) {
        let guarded = fields.into_iter().map(|f| {
            let f = f.as_ref();
            if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{f}")
            } else {
                f.to_string()
            }
        });
        // Writing into memory cannot fail.
        let _ = self.inner.write_record(guarded);
    }

    /// Bytes written so far and not yet taken.
    pub fn len(&mut self) -> usize {
        let _ = self.inner.flush();
        self.inner.get_ref().len()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Take what was written so far.
    pub fn take(&mut self) -> Vec<u8> {
        let full = std::mem::replace(&mut self.inner, writer(Vec::with_capacity(64 * 1024)));
        full.into_inner().unwrap_or_default()
    }
}

/// Bytes a streamed export hands on at a time.
pub const CHUNK: usize = 64 * 1024;

/// A streamed export: the producer sends chunks into the channel (at most
/// four wait, so a slow download holds its producer back instead of the
/// file piling up in memory); the stream is the download's body. A send
/// fails when the download was abandoned: the producer stops.
pub fn channel() -> (
    tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
    impl futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    (tx, futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The `Content-Type` of a CSV download.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// A CSV download named `<name>-<UTC time>.csv`, never cached.
pub fn download(name: &str, body: impl Into<Body>) -> Response {
    let filename = format!("{name}-{}.csv", Utc::now().format("%Y%m%d-%H%M"));
    let mut response = body.into().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_quoted_and_formulas_disarmed() {
        let mut w = CsvWriter::new(&["a", "b"]);
        w.row(["x;=HYPERLINK(\"http://evil\")", "=1+2"]);
        w.row(["plain", "say \"hi\", then\nleave"]);
        let text = String::from_utf8(w.take()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "\u{feff}\"a\",\"b\"");
        assert_eq!(lines[1], "\"x;=HYPERLINK(\"\"http://evil\"\")\",\"'=1+2\"");
        assert_eq!(lines[2], "\"plain\",\"say \"\"hi\"\", then\nleave\"");
        assert!(w.is_empty());
    }
}
