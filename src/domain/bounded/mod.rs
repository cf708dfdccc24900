//! Inputs with limits. Each type checks its limit as it is deserialized, and reads it
//! from one constant for the check, the message and the OpenAPI schema
//! ([`schema`]); a refusal ([`Refusal`]) carries the `type` and `msg` of the FastAPI
//! issue, and the JSON extractor (`crate::extract::json`) adds where it was (`loc`) and
//! lists every refused field of a body, as FastAPI does.

mod refusal;
pub mod schema;
mod text;
mod values;

pub use refusal::Refusal;
pub use text::{AvatarUrl, DisplayName, Notes, PhotoUri, Source};
pub use values::{Batch, Confidence, Preferences, TakenAt};
