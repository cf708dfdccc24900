//! What a new history entry may hold. Each bounded field checks itself as the body is
//! read, and the JSON extractor reports every refused field at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Array, Object};
use uuid::Uuid;

use crate::db::history::NewEntry;
use crate::domain::bounded::schema::Null;
use crate::domain::bounded::{Batch, Confidence, PhotoUri, Source, TakenAt};
use crate::domain::machine_id::MachineId;

/// A new history entry.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryCreate {
    /// Optional id chosen by the client (offline entries): sending the same id again
    /// records nothing new.
    #[serde(default)]
    pub id: Option<Uuid>,
    #[schema(value_type = String, example = "leg_press", pattern = "^[a-z0-9][a-z0-9_]{1,62}$")]
    pub machine_id: MachineId,
    #[serde(default)]
    #[schema(schema_with = confidence_schema)]
    pub confidence: Option<Confidence>,
    #[serde(default)]
    #[schema(schema_with = source_schema)]
    pub source: Source,
    #[serde(default)]
    #[schema(schema_with = photo_uri_schema)]
    pub photo_uri: Option<PhotoUri>,
    #[serde(default)]
    #[schema(schema_with = taken_at_schema)]
    pub taken_at: Option<TakenAt>,
}

fn confidence_schema() -> Object {
    Confidence::schema(Null::Allowed)
        .description(Some(Confidence::limit()))
        .build()
}

fn source_schema() -> Object {
    Source::schema()
        .description(Some(format!(
            "Where the entry came from (default `{}`): {}.",
            &*Source::default(),
            Source::limit()
        )))
        .build()
}

fn photo_uri_schema() -> Object {
    PhotoUri::schema(Null::Allowed)
        .description(Some(PhotoUri::limit()))
        .build()
}

fn taken_at_schema() -> Object {
    TakenAt::schema(Null::Allowed)
        .description(Some(format!(
            "When the photo was taken, RFC 3339 with a time zone (default: now); not more than\n{} ahead.",
            TakenAt::ahead()
        )))
        .build()
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryBatch {
    #[schema(schema_with = entries_schema)]
    pub entries: Batch<HistoryCreate>,
}

fn entries_schema() -> Array {
    Batch::<HistoryCreate>::schema()
        .description(Some(format!(
            "{} entries.",
            Batch::<HistoryCreate>::limit()
        )))
        .build()
}

impl HistoryCreate {
    /// The entry to record.
    pub(super) fn entry(&self) -> NewEntry {
        NewEntry {
            id: self.id,
            machine_id: self.machine_id.to_string(),
            confidence: self.confidence.map(|c| c.get() as f32),
            source: self.source.trimmed().to_owned(),
            photo_uri: self.photo_uri.as_deref().map(str::to_owned),
            taken_at: self.taken_at.map(TakenAt::get),
        }
    }
}
