//! Request extractors that answer bad input in the API's error envelope.

pub mod json;
pub mod multipart;
pub mod query;

pub use json::{ApiJson, JsonLimit};

/// How long a request body may stall (no byte arriving) before the request is answered
/// 408. Bodies are read by the handlers' extractors, after actix's own 5 s deadline for
/// the request head, so without this a client could hold a request open for ever.
pub const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub use query::QueryParams;
