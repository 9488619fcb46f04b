//! Small display helpers in the language of the moment (each reads it
//! tracked, so a view closure calling one re-renders on a switch): relative
//! times ("3 days ago" / "vor 3 Tagen"), absolute times (UTC, or the
//! browser's local time: `2026-11-28 14:05` / `28.11.2026, 14:05`), whole
//! numbers with thousands separators (`12,345` / `12.345`), decimals
//! (`48.2` / `48,2`), durations (`2 h 14 min` / `2 Std. 14 Min.`) and
//! ages (`3 h`), dashes for missing values.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use shared::Lang;

use crate::i18n::{lang, t, t_with};

/// A date and time as the language writes it.
fn date_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match lang() {
        Lang::De => t.format("%d.%m.%Y, %H:%M").to_string(),
        Lang::En => t.format("%Y-%m-%d %H:%M").to_string(),
    }
}

/// A date as the language writes it.
pub fn date<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    match lang() {
        Lang::De => t.format("%d.%m.%Y").to_string(),
        Lang::En => t.format("%Y-%m-%d").to_string(),
    }
}

/// "3 min ago", "2 days ago" ("vor 3 Min.", "vor 2 Tagen"); "never" for
/// none.
pub fn ago(at: Option<DateTime<Utc>>) -> String {
    let Some(at) = at else {
        return t("format.never");
    };
    let now_ms = js_sys::Date::now() as i64;
    let secs = (now_ms - at.timestamp_millis()) / 1000;
    let n = |v: i64| v.to_string();
    match secs {
        s if s < 0 => stamp(Some(at)),
        s if s < 60 => t("format.just_now"),
        s if s < 3600 => t_with("format.minutes_ago", &[("n", &n(s / 60))]),
        s if s < 86_400 => t_with("format.hours_ago", &[("n", &n(s / 3600))]),
        s if s < 86_400 * 2 => t_with("format.day_ago", &[("n", "1")]),
        s if s < 86_400 * 60 => t_with("format.days_ago", &[("n", &n(s / 86_400))]),
        _ => date(&at),
    }
}

/// How long something lasted: `45 s`, `12 min`, `2 h 14 min`, `3 d 4 h`
/// (`2 Std. 14 Min.`, `3 Tg. 4 Std.`).
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let unit = |key: &str, n: i64| t_with(key, &[("n", &n.to_string())]);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match secs {
        s if s < 60 => unit("format.seconds", s),
        s if s < 3600 => unit("format.minutes", m),
        s if s < 86_400 && m == 0 => unit("format.hours", h),
        s if s < 86_400 => format!("{} {}", unit("format.hours", h), unit("format.minutes", m)),
        _ if h == 0 => unit("format.days", d),
        _ => format!("{} {}", unit("format.days", d), unit("format.hours", h)),
    }
}

/// How old something is, in its largest unit: `12 min`, `3 h`, `5 d`
/// (`5 Tg.`); under a minute `1 min`.
pub fn age(since: DateTime<Utc>) -> String {
    let secs = (js_sys::Date::now() as i64 - since.timestamp_millis()) / 1000;
    let unit = |key: &str, n: i64| t_with(key, &[("n", &n.to_string())]);
    match secs.max(0) {
        s if s < 3600 => unit("format.minutes", (s / 60).max(1)),
        s if s < 86_400 => unit("format.hours", s / 3600),
        s => unit("format.days", s / 86_400),
    }
}

/// Absolute date-time in UTC, for tooltips and the audit trail.
pub fn stamp(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| t_with("format.utc", &[("time", &date_time(&at))]))
        .unwrap_or_default()
}

/// Date and time in the browser's time zone (its offset at that moment),
/// e.g. `2026-11-23 15:04` / `23.11.2026, 15:04`.
pub fn local_time(at: DateTime<Utc>) -> String {
    let js = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        at.timestamp_millis() as f64
    ));
    // Minutes *behind* UTC (Vienna in winter: -60).
    let east = -(js.get_timezone_offset() * 60.0) as i32;
    match FixedOffset::east_opt(east) {
        Some(zone) => date_time(&at.with_timezone(&zone)),
        None => stamp(Some(at)),
    }
}

/// A whole number with thousands separators: `12,345` / `12.345`.
pub fn count(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let sep = match lang() {
        Lang::De => '.',
        Lang::En => ',',
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A number as Rust writes it (`48.2082`, `-3`) with the language's
/// decimal separator: `48,2082` in German.
pub fn decimal_text(text: &str) -> String {
    match lang() {
        Lang::De => text.replace('.', ","),
        Lang::En => text.to_string(),
    }
}

/// `x` with `places` decimals and the language's separator.
pub fn decimal(x: f64, places: usize) -> String {
    decimal_text(&format!("{x:.places$}"))
}

/// The value or an em dash.
pub fn or_dash(v: Option<&str>) -> String {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "—".into(),
    }
}

/// A case's subject as shown: the fleet watch's own cases are named in the
/// app's language ("Wallbox Acme One: connection lost" / "…: Verbindung
/// verloren"); people's subjects as they typed them.
pub fn case_subject(c: &shared::cases::Case) -> String {
    match (&c.kind, &c.opened_by, &c.device_label) {
        (shared::cases::CaseKind::DeviceConnection, None, Some(device)) => {
            crate::i18n::t_with("cases.subject_connection_lost", &[("device", device)])
        }
        _ => c.subject.clone(),
    }
}
