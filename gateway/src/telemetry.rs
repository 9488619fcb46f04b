//! Logging with `tracing`: human-readable lines on stderr, filtered by
//! `RUST_LOG` (default `info` for the gateway, `warn` for dependencies).
//! Request logs come from `tower-http`'s `TraceLayer` and carry method, path
//! and status — never headers, so cookies and tokens stay out of the logs.

use tracing_subscriber::EnvFilter;

/// Default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "warn,gateway=info,podero_emulator=info,tower_http=info";

/// Install the global subscriber. Calling it again is harmless (tests).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
