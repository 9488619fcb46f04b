//! The dry run: a customer file compared with the organisation.
//!
//! Each valid row is matched with a Podero user by customer number
//! (`external_user_id`), else by e-mail (case-insensitive), from the read
//! model, never by asking Podero per row. A row is **new** (no match),
//! **changed** (each mapped field that differs, from Podero's value to the
//! file's) or **unchanged**; **invalid** when a cell breaks a validator;
//! a **conflict** when it cannot be applied safely: its customer number or
//! e-mail is on more than one row of the file, its e-mail belongs to a
//! user with another customer number, it matches an archived user or a
//! team member. Active end-users that no row names are **missing** (an
//! apply archives them only when asked). The write each row needs is
//! planned here too, so the apply job writes exactly what the dry run
//! showed.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use shared::staff::FieldChange;
use shared::sync::{
    DiffCounts, DiffKind, DiffRow, QualityCount, QualityProblem, RowProblem, SyncField,
};
use shared::{CreateUser, FieldError, Lang, UpdateUser, User};
use uuid::Uuid;

use super::customer::{check, Customer};
use super::file::{CustomerFile, Mapping};
use super::quality::Context;
use crate::directory::Snapshot;

/// A write to Podero that a row needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Create(CreateUser),
    Update(Uuid, UpdateUser),
    Archive(Uuid),
}

/// One row of the dry run and its write, if any.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: DiffRow,
    pub write: Option<Write>,
}

/// The whole comparison.
#[derive(Debug)]
pub struct Diff {
    pub counts: DiffCounts,
    pub rows: Vec<Planned>,
    pub quality: Vec<QualityCount>,
}

/// Podero's value of `field` as JSON (`null` when unset or empty).
fn current(u: &User, field: SyncField) -> Value {
    let t = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or(Value::Null, |s| json!(s))
    };
    match field {
        SyncField::ExternalUserId => t(&u.external_user_id),
        SyncField::Email => json!(u.email),
        SyncField::FirstName => t(&u.first_name),
        SyncField::LastName => t(&u.last_name),
        SyncField::StreetAndNumber => t(&u.street_and_number),
        SyncField::StreetAddInfo => t(&u.street_add_info),
        SyncField::ZipCode => t(&u.zip_code),
        SyncField::Town => t(&u.town),
        SyncField::Country => t(&u.country),
        SyncField::Latitude => u.latitude.map_or(Value::Null, |v| json!(v)),
        SyncField::Longitude => u.longitude.map_or(Value::Null, |v| json!(v)),
    }
}

fn same(field: SyncField, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if field == SyncField::Country => {
            x.eq_ignore_ascii_case(y)
        }
        (Value::String(x), Value::String(y)) => x.trim() == y.trim(),
        (a, b) if a.is_number() && b.is_number() => {
            (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(f64::NAN)).abs() < 1e-7
        }
        (a, b) => a == b,
    }
}

/// The partial update that makes `u` what `c` says, and its changes.
fn changes(u: &User, c: &Customer) -> (UpdateUser, Vec<FieldChange>) {
    let mut body = UpdateUser::default();
    let mut out = Vec::new();
    if !u.email.trim().eq_ignore_ascii_case(&c.email) {
        body.email = Some(c.email.clone());
        out.push(FieldChange {
            field: "email".into(),
            from: json!(u.email),
            to: json!(c.email),
        });
    }
    if let Some(ext) = &c.external_user_id {
        if u.external_user_id.as_deref().map(str::trim) != Some(ext.as_str()) {
            body.external_user_id = Some(Some(ext.clone()));
            out.push(FieldChange {
                field: "external_user_id".into(),
                from: current(u, SyncField::ExternalUserId),
                to: json!(ext),
            });
        }
    }
    for (field, value) in &c.fields {
        let from = current(u, *field);
        let to = value.clone().unwrap_or(Value::Null);
        if same(*field, &from, &to) {
            continue;
        }
        let s = value.as_ref().and_then(Value::as_str).map(str::to_string);
        let n = value.as_ref().and_then(Value::as_f64);
        match field {
            SyncField::FirstName => body.first_name = Some(s),
            SyncField::LastName => body.last_name = Some(s),
            SyncField::StreetAndNumber => body.street_and_number = Some(s),
            SyncField::StreetAddInfo => body.street_add_info = Some(s),
            SyncField::ZipCode => body.zip_code = Some(s),
            SyncField::Town => body.town = Some(s),
            SyncField::Country => body.country_iso2 = Some(s),
            SyncField::Latitude => body.latitude = Some(n),
            SyncField::Longitude => body.longitude = Some(n),
            SyncField::ExternalUserId | SyncField::Email => continue,
        }
        out.push(FieldChange {
            field: field.as_str().into(),
            from,
            to,
        });
    }
    (body, out)
}

fn conflict(lang: Lang, key: &str, args: &[(&str, &str)]) -> Vec<RowProblem> {
    vec![RowProblem {
        column: String::new(),
        error: FieldError::keyed("row", key, args).localized(lang),
    }]
}

/// Compare `file` (read with `mapping`) with `snapshot`; messages in `lang`.
/// `keep_unchanged`: also the unchanged rows (a run reports them; the dry
/// run only counts them unless asked).
pub fn diff(
    file: &CustomerFile,
    mapping: &Mapping,
    snapshot: &Snapshot,
    lang: Lang,
    keep_unchanged: bool,
) -> Diff {
    let users: Vec<_> = snapshot.users().collect();
    let mut by_ext: HashMap<&str, u32> = HashMap::with_capacity(users.len());
    let mut by_email: HashMap<String, u32> = HashMap::with_capacity(users.len());
    let mut ctx = Context::default();
    for (i, u) in users.iter().enumerate() {
        if let Some(ext) = u
            .external_user_id()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            // An active user wins over an archived one of the same number.
            let keep = by_ext
                .get(ext)
                .is_some_and(|j| !users[*j as usize].is_archived());
            if !keep {
                by_ext.insert(ext, i as u32);
            }
        }
        by_email.insert(u.email().trim().to_lowercase(), i as u32);
        if u.role() == shared::Role::User && !u.is_archived() {
            ctx.add(&u.to_user());
        }
    }
    // Lines of each customer number and e-mail in the file (read from
    // the cells as the validators trim them; a row is checked when it is
    // compared below, so no checked copy of the file is held).
    let mut ext_lines: HashMap<String, Vec<u64>> = HashMap::new();
    let mut email_lines: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &file.rows {
        if let Some(ext) = mapping
            .cell(r, SyncField::ExternalUserId)
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            ext_lines.entry(ext.to_string()).or_default().push(r.line);
        }
        if let Some(email) = mapping
            .cell(r, SyncField::Email)
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            email_lines
                .entry(email.to_lowercase())
                .or_default()
                .push(r.line);
        }
    }
    let mut named: HashSet<u32> = HashSet::new();
    let mut counts = DiffCounts::default();
    let mut quality: HashMap<QualityProblem, u32> = HashMap::new();
    let mut rows = Vec::with_capacity(file.rows.len());
    for file_row in &file.rows {
        let result = check(file_row, mapping, &file.headers, lang);
        let c = match &result {
            Err(problems) => {
                // A bad row still names its user, so that user is not
                // reported missing.
                let raw = |f| mapping.cell(file_row, f).unwrap_or("").trim();
                if let Some(i) = by_ext
                    .get(raw(SyncField::ExternalUserId))
                    .or_else(|| by_email.get(&raw(SyncField::Email).to_lowercase()))
                {
                    named.insert(*i);
                }
                counts.add(DiffKind::Invalid);
                rows.push(Planned {
                    row: DiffRow {
                        line: file_row.line,
                        kind: DiffKind::Invalid,
                        user_id: None,
                        external_user_id: Some(raw(SyncField::ExternalUserId).to_string())
                            .filter(|s| !s.is_empty()),
                        email: Some(raw(SyncField::Email).to_string()).filter(|s| !s.is_empty()),
                        name: None,
                        changes: Vec::new(),
                        problems: problems.clone(),
                        quality: Vec::new(),
                    },
                    write: None,
                });
                continue;
            }
            Ok(c) => c,
        };
        let matched = c
            .external_user_id
            .as_deref()
            .and_then(|e| by_ext.get(e))
            .or_else(|| by_email.get(&c.email.to_lowercase()))
            .copied();
        if let Some(i) = matched {
            named.insert(i);
        }
        let others = |lines: Option<&Vec<u64>>| {
            lines
                .into_iter()
                .flatten()
                .filter(|l| **l != c.line)
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut problems = Vec::new();
        let dup_ext = c
            .external_user_id
            .as_deref()
            .map(|e| others(ext_lines.get(e)))
            .unwrap_or_default();
        let dup_email = others(email_lines.get(&c.email.to_lowercase()));
        if !dup_ext.is_empty() {
            problems = conflict(
                lang,
                "sync.conflict.duplicate_number",
                &[("lines", &dup_ext)],
            );
        } else if !dup_email.is_empty() {
            problems = conflict(
                lang,
                "sync.conflict.duplicate_email",
                &[("lines", &dup_email)],
            );
        }
        let user = matched.map(|i| users[i as usize]);
        if let (true, Some(u)) = (problems.is_empty(), user) {
            let email_owner = by_email.get(&c.email.to_lowercase()).copied();
            let ext_of = |j: u32| {
                users[j as usize]
                    .external_user_id()
                    .unwrap_or("—")
                    .to_string()
            };
            if u.is_archived() {
                problems = conflict(lang, "sync.conflict.archived", &[]);
            } else if u.role().is_team() {
                problems = conflict(lang, "sync.conflict.team_member", &[]);
            } else if let Some(j) = email_owner.filter(|j| Some(*j) != matched) {
                problems = conflict(lang, "sync.conflict.email_taken", &[("number", &ext_of(j))]);
            } else if let (Some(mine), Some(theirs)) = (
                c.external_user_id.as_deref(),
                u.external_user_id()
                    .map(str::trim)
                    .filter(|e| !e.is_empty()),
            ) {
                if mine != theirs {
                    problems = conflict(lang, "sync.conflict.email_taken", &[("number", theirs)]);
                }
            }
        }
        let (kind, write, changed, user_id, before) = if !problems.is_empty() {
            (
                DiffKind::Conflict,
                None,
                Vec::new(),
                user.map(|u| u.id()),
                None,
            )
        } else if let Some(u) = user {
            let before = u.to_user();
            let (body, changed) = changes(&before, c);
            if changed.is_empty() {
                (
                    DiffKind::Unchanged,
                    None,
                    changed,
                    Some(u.id()),
                    Some(before),
                )
            } else {
                (
                    DiffKind::Changed,
                    Some(Write::Update(u.id(), body)),
                    changed,
                    Some(u.id()),
                    Some(before),
                )
            }
        } else {
            (
                DiffKind::New,
                Some(Write::Create(c.create_body())),
                Vec::new(),
                None,
                None,
            )
        };
        let issues = if matches!(
            kind,
            DiffKind::New | DiffKind::Changed | DiffKind::Unchanged
        ) {
            ctx.check(&c.as_user(before.as_ref()), before.as_ref())
        } else {
            Vec::new()
        };
        for i in &issues {
            *quality.entry(i.problem).or_default() += 1;
        }
        counts.add(kind);
        if kind == DiffKind::Unchanged && !keep_unchanged {
            continue;
        }
        rows.push(Planned {
            row: DiffRow {
                line: c.line,
                kind,
                user_id,
                external_user_id: c.external_user_id.clone(),
                email: Some(c.email.clone()),
                name: Some(c.name()),
                changes: changed,
                problems,
                quality: issues,
            },
            write,
        });
    }
    for (i, u) in users.iter().enumerate() {
        if u.role() != shared::Role::User || u.is_archived() || named.contains(&(i as u32)) {
            continue;
        }
        counts.add(DiffKind::Missing);
        rows.push(Planned {
            row: DiffRow {
                line: 0,
                kind: DiffKind::Missing,
                user_id: Some(u.id()),
                external_user_id: u.external_user_id().map(str::to_string),
                email: Some(u.email().to_string()),
                name: Some(User::name_of(u.first_name(), u.last_name(), u.email())),
                changes: Vec::new(),
                problems: Vec::new(),
                quality: Vec::new(),
            },
            write: Some(Write::Archive(u.id())),
        });
    }
    let quality = QualityProblem::ALL
        .into_iter()
        .filter_map(|p| {
            quality.get(&p).map(|n| QualityCount {
                problem: p,
                count: *n,
            })
        })
        .collect();
    Diff {
        counts,
        rows,
        quality,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::file::parse;
    use chrono::Utc;

    fn user(ext: Option<&str>, email: &str, role: &str, archived: bool) -> User {
        serde_json::from_value(json!({
            "id": Uuid::new_v4(), "role": role, "email": email, "external_user_id": ext,
            "first_name": "Anna", "last_name": "Huber", "zip_code": "1010", "town": "Wien",
            "country": "AT", "latitude": 48.2, "longitude": 16.37,
            "deleted_at": archived.then_some("2026-11-01T00:00:00Z"),
        }))
        .unwrap()
    }

    fn run(users: Vec<User>, text: &str) -> Diff {
        let snapshot = Snapshot::build(users.into_iter().collect(), Utc::now());
        let file = parse(text.as_bytes()).unwrap();
        let mapping = Mapping::guess(&file.headers);
        diff(&file, &mapping, &snapshot, Lang::En, true)
    }

    fn kinds(d: &Diff) -> Vec<(u64, DiffKind)> {
        d.rows.iter().map(|p| (p.row.line, p.row.kind)).collect()
    }

    #[test]
    fn every_kind_of_row() {
        let users = vec![
            user(Some("K-1"), "anna@example.at", "user", false),
            user(Some("K-2"), "old@example.at", "user", true),
            user(None, "c@example.at", "user", false),
            user(None, "t@example.at", "staff", false),
            user(Some("K-9"), "m@example.at", "user", false),
            user(Some("K-8"), "same@example.at", "user", false),
            user(Some("K-11"), "other@example.at", "user", false),
        ];
        let text = "Kundennummer;E-Mail;Vorname;Nachname;PLZ;Ort;Land;Breitengrad;Längengrad\n\
            K-1;Anna@Example.at;Anne;Huber;1010;Wien;AT;48,2;16,37\n\
            K-3;new@example.at;Neu;Kunde;1010;Wien;AT;48,2;16,37\n\
            K-2;old@example.at;Anna;Huber;1010;Wien;AT;48,2;16,37\n\
            K-4;c@example.at;Anna;Huber;1010;Wien;AT;48,2;16,37\n\
            K-6;t@example.at;Anna;Huber;1010;Wien;AT;48,2;16,37\n\
            K-5;x@example.at;A;B;1010;Wien;AT;48,2;16,37\n\
            K-5;y@example.at;A;B;1010;Wien;AT;48,2;16,37\n\
            K-7;broken;A;B;1010;Wien;AT;48,2;16,37\n\
            K-8;same@example.at;Anna;Huber;1010;Wien;AT;48,2;16,37\n\
            K-10;other@example.at;A;B;1010;Wien;AT;48,2;16,37\n";
        let d = run(users.clone(), text);
        assert_eq!(
            kinds(&d),
            [
                (2, DiffKind::Changed),
                (3, DiffKind::New),
                (4, DiffKind::Conflict),
                (5, DiffKind::Changed),
                (6, DiffKind::Conflict),
                (7, DiffKind::Conflict),
                (8, DiffKind::Conflict),
                (9, DiffKind::Invalid),
                (10, DiffKind::Unchanged),
                (11, DiffKind::Conflict),
                (0, DiffKind::Missing),
            ]
        );
        let c = &d.counts;
        assert_eq!(
            (
                c.new,
                c.changed,
                c.unchanged,
                c.invalid,
                c.conflicts,
                c.missing
            ),
            (1, 2, 1, 1, 5, 1)
        );
        // The e-mail's case is no change; the first name is, from → to.
        let changed = &d.rows[0].row;
        assert_eq!(changed.changes.len(), 1, "{:?}", changed.changes);
        assert_eq!(changed.changes[0].field, "first_name");
        assert_eq!(changed.changes[0].from, json!("Anna"));
        assert_eq!(changed.changes[0].to, json!("Anne"));
        assert!(matches!(&d.rows[0].write, Some(Write::Update(id, body))
            if *id == users[0].id && body.first_name == Some(Some("Anne".into())) && body.email.is_none()));
        // Matched by e-mail: the customer number is set.
        assert_eq!(d.rows[3].row.changes[0].field, "external_user_id");
        assert!(matches!(&d.rows[1].write, Some(Write::Create(b)) if b.email == "new@example.at"));
        assert!(d.rows[2].row.problems[0].error.message.contains("archived"));
        assert!(d.rows[4].row.problems[0]
            .error
            .message
            .contains("team member"));
        assert!(d.rows[5].row.problems[0].error.message.contains("line 8"));
        assert_eq!(d.rows[7].row.problems[0].column, "E-Mail");
        assert!(d.rows[9].row.problems[0].error.message.contains("K-11"));
        assert_eq!(d.rows[10].row.user_id, Some(users[4].id));
    }

    #[test]
    fn applying_the_result_leaves_nothing_to_do() {
        let text =
            "customer_number,email,first_name,latitude\nK-1,anna@example.at,Anne,\"48,25\"\n";
        let mut u = user(Some("K-1"), "anna@example.at", "user", false);
        let d = run(vec![u.clone()], text);
        assert_eq!(d.counts.changed, 1);
        u.first_name = Some("Anne".into());
        u.latitude = Some(48.25);
        let d = run(vec![u], text);
        assert_eq!(d.counts.unchanged, 1);
        assert_eq!(d.counts.writes(), 0);
    }
}
