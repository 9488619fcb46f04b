//! Reading a customer file as billing systems write it.
//!
//! The bytes are UTF-8 (a byte-order mark is dropped) or, when they are not
//! valid UTF-8, Windows-1252 (what German Excel and SAP exports write),
//! decoded by `encoding_rs`. The delimiter is `;`, `,` or a tab, whichever
//! the header line has most of outside quotes. The `csv` crate reads the
//! records (quoted fields, quoted line breaks, doubled quotes); rows may
//! have fewer or more cells than the header, empty lines and rows whose
//! cells are all empty are left out. Each [`SyncField`] is read from the
//! column the [`Mapping`] names: guessed from the header, or as the caller
//! sets it.

use std::borrow::Cow;

use shared::sync::{ColumnMapping, FileColumns, SyncField, MAX_FILE_ROWS};
use shared::FieldError;

/// A parsed file: the header, how it was read, and the data rows.
#[derive(Debug)]
pub struct CustomerFile {
    pub headers: Vec<String>,
    pub delimiter: u8,
    pub encoding: &'static str,
    pub rows: Vec<FileRow>,
}

/// One data row: the line it starts on (the header is line 1) and its
/// cells, trimmed (a `csv` record: one buffer for all its cells, so a
/// 100,000-row file is two allocations per row, not one per cell).
#[derive(Debug, Clone)]
pub struct FileRow {
    pub line: u64,
    pub cells: csv::StringRecord,
}

/// Which column each field is read from (`None`: not in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    columns: [Option<usize>; SyncField::ALL.len()],
}

fn slot(field: SyncField) -> usize {
    SyncField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or_default()
}

impl Mapping {
    /// Guess every field from the header names; a column serves one field.
    pub fn guess(headers: &[String]) -> Mapping {
        let mut columns = [None; SyncField::ALL.len()];
        for (i, h) in headers.iter().enumerate() {
            if let Some(field) = SyncField::guess(h) {
                let s = &mut columns[slot(field)];
                if s.is_none() {
                    *s = Some(i);
                }
            }
        }
        Mapping { columns }
    }

    /// The guess, with the fields set in `overrides` (field name → header
    /// name; an empty header leaves the field out). A field or header name
    /// that does not exist, and no column for the e-mail, are refused:
    /// each problem named, with the mapping as far as it could be made.
    pub fn with_overrides(
        headers: &[String],
        overrides: &[(String, String)],
    ) -> Result<Mapping, Box<Refused>> {
        let mut m = Mapping::guess(headers);
        let mut errors = Vec::new();
        for (name, header) in overrides {
            let Some(field) = SyncField::parse(name) else {
                continue; // other query parameters
            };
            if header.trim().is_empty() {
                m.columns[slot(field)] = None;
                continue;
            }
            match headers.iter().position(|h| h.trim() == header.trim()) {
                Some(i) => m.columns[slot(field)] = Some(i),
                None => {
                    m.columns[slot(field)] = None;
                    errors.push(FieldError::keyed(
                        name,
                        "sync.file.no_such_column",
                        &[("column", header.trim())],
                    ));
                }
            }
        }
        // (Said once: a refused e-mail column is said above.)
        if m.column(SyncField::Email).is_none() && !errors.iter().any(|e| e.field == "email") {
            errors.push(FieldError::keyed("email", "sync.file.no_email_column", &[]));
        }
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(Box::new(Refused { errors, mapping: m }))
        }
    }

    pub fn column(&self, field: SyncField) -> Option<usize> {
        self.columns[slot(field)]
    }

    /// The cell of `field` in `row`, if the field is mapped (an absent cell
    /// of a short row is empty).
    pub fn cell<'a>(&self, row: &'a FileRow, field: SyncField) -> Option<&'a str> {
        self.column(field).map(|i| row.cells.get(i).unwrap_or(""))
    }

    /// As the API shows it, with the file's header row.
    pub fn describe(&self, headers: &[String]) -> FileColumns {
        FileColumns {
            headers: headers.to_vec(),
            mapping: SyncField::ALL
                .into_iter()
                .map(|field| ColumnMapping {
                    field,
                    column: self.column(field).and_then(|i| headers.get(i).cloned()),
                })
                .collect(),
        }
    }
}

/// A column mapping that cannot be used: each problem (by field), and the
/// mapping without the columns refused (for the caller to offer the
/// choice again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub errors: Vec<FieldError>,
    pub mapping: Mapping,
}

/// The text of the file and its encoding's name.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), "utf-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, "windows-1252")
        }
    }
}

/// The delimiter the first non-empty line has most of outside quotes
/// (`;`, `,` or tab; `,` when it has none).
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => counts[0] += 1,
            ',' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b';', b',', b'\t'];
    let best = (0..3).max_by_key(|i| (counts[*i], *i == 1)).unwrap_or(1);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

/// The line a record starts on. The `csv` crate's position of a record is
/// where its reading began, before the line breaks (and empty lines) it
/// skipped; this counts from there, forwards only.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl Lines<'_> {
    fn line_at(&mut self, byte: usize) -> u64 {
        let mut start = byte.min(self.text.len()).max(self.pos);
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        self.line += self.text[self.pos..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.pos = start;
        self.line
    }
}

/// Read `bytes` as a customer file. An empty file, one without a header,
/// a broken record or more than [`MAX_FILE_ROWS`] rows is an error saying
/// which (the `line` where it applies).
pub fn parse(bytes: &[u8]) -> Result<CustomerFile, FieldError> {
    let (text, encoding) = decode(bytes);
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let broken = |e: csv::Error| {
        let line = e.position().map(|p| p.line() + 1).unwrap_or(0);
        FieldError::keyed(
            "file",
            "sync.file.broken",
            &[("line", &line.to_string()), ("cause", &e.to_string())],
        )
    };
    let headers: Vec<String> = loop {
        match records.next() {
            None => return Err(FieldError::keyed("file", "sync.file.empty", &[])),
            Some(Err(e)) => return Err(broken(e)),
            Some(Ok(r)) if r.iter().all(str::is_empty) => continue,
            Some(Ok(r)) => break r.iter().map(str::to_string).collect(),
        }
    };
    let mut rows = Vec::new();
    let mut lines = Lines {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    for record in records {
        let record = record.map_err(broken)?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_FILE_ROWS {
            return Err(FieldError::keyed(
                "file",
                "sync.file.too_many_rows",
                &[("max", &MAX_FILE_ROWS.to_string())],
            ));
        }
        rows.push(FileRow {
            line: record
                .position()
                .map(|p| lines.line_at(p.byte() as usize))
                .unwrap_or(0),
            cells: record,
        });
    }
    Ok(CustomerFile {
        headers,
        delimiter,
        encoding,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(f: &CustomerFile, row: usize, field: SyncField) -> &str {
        Mapping::guess(&f.headers)
            .cell(&f.rows[row], field)
            .unwrap()
    }

    #[test]
    fn semicolons_bom_and_decimal_commas() {
        let text =
            "\u{feff}Kundennummer;E-Mail;Vorname;Nachname;PLZ;Ort;Land;Breitengrad;Längengrad\r\n\
                    K-1;anna@example.at;Anna;Huber;1010;Wien;AT;48,2082;16,3738\r\n";
        let f = parse(text.as_bytes()).unwrap();
        assert_eq!(f.delimiter, b';');
        assert_eq!(f.encoding, "utf-8");
        assert_eq!(f.headers[0], "Kundennummer");
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(cell(&f, 0, SyncField::Latitude), "48,2082");
        assert_eq!(cell(&f, 0, SyncField::Email), "anna@example.at");
        assert_eq!(cell(&f, 0, SyncField::Country), "AT");
    }

    #[test]
    fn windows_1252_umlauts() {
        // "Müller;Straße" in Windows-1252.
        let mut bytes = b"customer_number,email,last_name,street\n".to_vec();
        bytes.extend_from_slice(b"K-2,m@example.de,M\xFCller,Stra\xDFe 1\n");
        let f = parse(&bytes).unwrap();
        assert_eq!(f.encoding, "windows-1252");
        assert_eq!(f.delimiter, b',');
        assert_eq!(cell(&f, 0, SyncField::LastName), "Müller");
        assert_eq!(cell(&f, 0, SyncField::StreetAndNumber), "Straße 1");
    }

    #[test]
    fn quoted_fields_newlines_empty_lines_and_extra_columns() {
        let text = "email;Adresszusatz;Tarif\n\
                    \n\
                    \"a@example.de\";\"Stiege 2\nTür 5\";Öko;extra;cells\n\
                    ;;\n\
                    \n\
                    \"b@example.de\";\"say \"\"hi\"\"; ok\"\n";
        let f = parse(text.as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 2, "{:?}", f.rows);
        assert_eq!(cell(&f, 0, SyncField::StreetAddInfo), "Stiege 2\nTür 5");
        assert_eq!(f.rows[0].cells.len(), 5);
        assert_eq!(f.rows[0].line, 3);
        assert_eq!(cell(&f, 1, SyncField::StreetAddInfo), "say \"hi\"; ok");
        assert_eq!(f.rows[1].line, 7);
        // A short row's missing cells are empty; an unmapped field is None.
        let m = Mapping::guess(&f.headers);
        assert_eq!(m.cell(&f.rows[1], SyncField::Email), Some("b@example.de"));
        assert_eq!(m.cell(&f.rows[1], SyncField::Town), None);
    }

    #[test]
    fn the_mapping_can_be_set() {
        let headers: Vec<String> = ["Mail", "Nr", "Wohnort"].map(String::from).to_vec();
        let m = Mapping::with_overrides(
            &headers,
            &[
                ("external_user_id".into(), "Nr".into()),
                ("town".into(), "".into()),
                ("page".into(), "2".into()),
            ],
        )
        .unwrap();
        assert_eq!(m.column(SyncField::ExternalUserId), Some(1));
        assert_eq!(m.column(SyncField::Email), Some(0));
        assert_eq!(m.column(SyncField::Town), None);
        let e = Mapping::with_overrides(&headers, &[("email".into(), "Nope".into())]).unwrap_err();
        assert!(e.errors[0].message.contains("Nope"), "{:?}", e);
        assert_eq!(e.errors.len(), 1, "{:?}", e);
        // The refused column is left out of what can be offered again.
        assert_eq!(e.mapping.column(SyncField::Email), None);
        let e = Mapping::with_overrides(&headers[1..], &[("town".into(), "Wohnort".into())])
            .unwrap_err();
        assert_eq!(
            e.errors[0].key.as_deref(),
            Some("sync.file.no_email_column")
        );
        // The choices that could be used are kept in the refusal.
        assert_eq!(e.mapping.column(SyncField::Town), Some(1));
        let columns = e.mapping.describe(&headers[1..]);
        assert_eq!(columns.headers, ["Nr", "Wohnort"]);
        assert!(columns
            .mapping
            .iter()
            .any(|m| m.field == SyncField::Town && m.column.as_deref() == Some("Wohnort")));
    }

    #[test]
    fn bad_files_say_why() {
        assert_eq!(
            parse(b"").unwrap_err().key.as_deref(),
            Some("sync.file.empty")
        );
        assert_eq!(
            parse(b"\n\n ; \n").unwrap_err().key.as_deref(),
            Some("sync.file.empty")
        );
    }
}
