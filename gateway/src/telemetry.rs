//! Logging with `tracing`: on stderr, filtered by `RUST_LOG` (default
//! `info` for the gateway, `warn` for dependencies), as human-readable lines
//! or, with `GATEWAY_LOG_FORMAT=json`, one JSON object per line (`timestamp`,
//! `level`, `target`, `message` and the event's fields at the top level, and
//! the current span's fields under `span`). Request logs come from
//! `tower-http`'s `TraceLayer` in a `request` span that carries method and
//! path (not the query) and events with the status — never headers, so
//! cookies and tokens stay out of the logs in either format. Metrics are
//! [`crate::metrics`]'.

use std::fmt;
use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// Default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "warn,gateway=info,podero_emulator=info,tower_http=info";

/// Environment variable choosing the log format.
pub const LOG_FORMAT_VAR: &str = "GATEWAY_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// The values [`LogFormat::from_str`] accepts.
    pub const ALLOWED: &'static str = "text, json";
}

impl FromStr for LogFormat {
    type Err = BadLogFormat;

    /// `text` or `json` (case and surrounding blanks ignored); empty means
    /// the default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(BadLogFormat(s.to_string())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// A log format that is neither `text` nor `json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GATEWAY_LOG_FORMAT must be one of: {allowed}; got {0:?}", allowed = LogFormat::ALLOWED)]
pub struct BadLogFormat(pub String);

/// Install the global subscriber with human-readable lines. Calling it
/// again is harmless (tests).
pub fn init() {
    init_with(LogFormat::Text);
}

/// Install the global subscriber writing `format`. Only the first call in
/// a process installs anything.
pub fn init_with(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        assert_eq!(" JSON ".parse(), Ok(LogFormat::Json));
        assert_eq!("".parse(), Ok(LogFormat::Text));
        let err = "xml".parse::<LogFormat>().unwrap_err().to_string();
        assert_eq!(
            err,
            r#"GATEWAY_LOG_FORMAT must be one of: text, json; got "xml""#
        );
    }
}
