//! A history entry as the API answers it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::embed::{EmbeddedMachine, WithMachine};
use crate::db::history::EntryRow;
use crate::domain::machine::Machine;
use crate::domain::machine_id::MachineId;

/// One identification in the caller's history, with its machine.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub machine_id: MachineId,
    /// 0 to 1, when the entry came from an identification.
    pub confidence: Option<f32>,
    #[schema(example = "backend_api")]
    pub source: String,
    pub taken_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub photo_uri: Option<String>,
    #[schema(value_type = Machine)]
    pub machine: EmbeddedMachine,
}

impl From<WithMachine<EntryRow>> for HistoryEntry {
    fn from((row, machine): WithMachine<EntryRow>) -> Self {
        HistoryEntry {
            id: row.id,
            machine_id: row.machine_id,
            confidence: row.confidence,
            source: row.source,
            taken_at: row.taken_at,
            created_at: row.created_at,
            photo_uri: row.photo_uri,
            machine,
        }
    }
}
