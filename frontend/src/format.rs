//! Small display helpers: relative times, absolute times (UTC, or the
//! browser's local time), dashes for missing values.

use chrono::{DateTime, FixedOffset, Utc};

/// "3 min ago", "2 days ago"; "never" for none.
pub fn ago(t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else { return "never".into() };
    let now_ms = js_sys::Date::now() as i64;
    let secs = (now_ms - t.timestamp_millis()) / 1000;
    match secs {
        s if s < 0 => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 86_400 * 60 => format!("{} days ago", s / 86_400),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

/// Absolute date-time for tooltips.
pub fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Date and time in the browser's time zone (its offset at that moment),
/// e.g. `2026-11-23 15:04`.
pub fn local_time(t: DateTime<Utc>) -> String {
    let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.timestamp_millis() as f64));
    // Minutes *behind* UTC (Vienna in winter: -60).
    let east = -(at.get_timezone_offset() * 60.0) as i32;
    match FixedOffset::east_opt(east) {
        Some(zone) => t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
        None => stamp(Some(t)),
    }
}

/// The value or an em dash.
pub fn or_dash(v: Option<&str>) -> String {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "—".into(),
    }
}
