//! Logging: `tracing` to stdout, as Cloud Logging JSON lines or pretty text.

pub mod cloud_logging;
pub mod metrics;
pub mod redact;
pub mod request;
pub mod sentry;
pub mod trace_context;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber. Call once, from `main`.
pub fn init(format: LogFormat, filter: &str, google_cloud_project: Option<String>) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("RUST_LOG is invalid ({e}); using \"info\"");
        EnvFilter::new("info")
    });
    // Sentry's layer does nothing while no client is bound (no SENTRY_DSN).
    let registry = tracing_subscriber::registry()
        .with(sentry::tracing_layers())
        .with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(cloud_logging::CloudLoggingFormat::new(google_cloud_project))
                    .with_writer(std::io::stdout),
            )
            .try_init(),
        // Pretty logs go to stderr, so commands that print a result (`dev-token`) keep
        // stdout clean.
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}
