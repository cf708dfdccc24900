//! Request extractors that answer bad input in the API's error envelope.

pub mod json;
pub mod multipart;
pub mod query;
pub mod writes;

pub use json::{ApiJson, BODY_IDLE_TIMEOUT, JsonLimit};

pub use query::QueryParams;
pub use writes::{WriteTurns, Writer};
