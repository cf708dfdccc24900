//! What identification concludes, and the catalog as it needs it.

use std::sync::Arc;
use std::time::Duration;

use crate::vision::fireworks::Usage;
use crate::vision::matching::{Candidate, CatalogEntry};
use crate::vision::variants::BUILDERS;

/// The catalog as identification needs it, for one catalog version: its entries, and
/// every variant's system prompt built from them.
pub struct VisionCatalog {
    pub entries: Vec<CatalogEntry>,
    prompts: Vec<(&'static str, String)>,
}

impl VisionCatalog {
    pub fn new(entries: Vec<CatalogEntry>) -> Self {
        let prompts = BUILDERS
            .iter()
            .map(|b| (b.name, b.system_prompt(&entries)))
            .collect();
        VisionCatalog { entries, prompts }
    }

    /// `variant`'s system prompt (empty for a name this build does not know).
    pub fn prompt(&self, variant: &str) -> &str {
        self.prompts
            .iter()
            .find(|(name, _)| *name == variant)
            .map_or("", |(_, prompt)| prompt.as_str())
    }
}

/// What an identification concluded, as recorded and as kept for repeats of the photo.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The catalog machine's id; `None` for "Unknown".
    pub machine_id: Option<String>,
    /// The catalog machine's name, or "Unknown".
    pub machine: String,
    pub confidence: f32,
    /// The closest catalog machines, best first.
    pub candidates: Vec<Candidate>,
    pub raw_text: Option<String>,
    pub raw_machine: Option<String>,
    pub match_score: Option<f32>,
    /// Why the model's answer was not usable (`vision::fireworks::Failure`), or
    /// `upstream` when the model could not be asked.
    pub failure: Option<&'static str>,
    pub error: Option<String>,
    pub usage: Usage,
}

impl Answer {
    pub fn unknown(failure: Option<&'static str>, error: Option<String>) -> Self {
        Answer {
            machine_id: None,
            machine: "Unknown".into(),
            confidence: 0.0,
            candidates: Vec::new(),
            raw_text: None,
            raw_machine: None,
            match_score: None,
            failure,
            error,
            usage: Usage::default(),
        }
    }
}

/// What one identification answered, and how.
pub struct Identified {
    pub trace_id: String,
    pub answer: Arc<Answer>,
    pub mocked: bool,
    /// Time waiting for Fireworks, when it was asked.
    pub upstream: Option<Duration>,
}
