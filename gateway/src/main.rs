//! The `gateway` binary: configuration, logging, serve until Ctrl-C.

use std::process::ExitCode;

use gateway::configuration::Config;
use gateway::startup::Application;

#[tokio::main]
async fn main() -> ExitCode {
    // The configuration first: it says how to log (GATEWAY_LOG_FORMAT),
    // and its errors go to stderr as plain text.
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    gateway::telemetry::init_with(config.log_format);
    gateway::memory::tune_allocator();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
