//! What identification concludes, and the catalog as it needs it.

use std::sync::Arc;
use std::time::Duration;

use crate::config::variants::Prompt;
use crate::domain::identify::CatalogEntry;
use crate::vision::fireworks::Usage;
use crate::vision::matching::Candidate;
use crate::vision::variants;

/// The catalog as identification needs it, for one catalog version: its entries, and
/// every variant's system prompt built from them.
pub struct VisionCatalog {
    pub entries: Vec<CatalogEntry>,
    prompts: Vec<(Prompt, String)>,
}

impl VisionCatalog {
    pub fn new(entries: Vec<CatalogEntry>) -> Self {
        let prompts = Prompt::ALL
            .into_iter()
            .map(|p| (p, variants::builder(p).system_prompt(&entries)))
            .collect();
        VisionCatalog { entries, prompts }
    }

    /// `prompt`'s system prompt.
    pub fn prompt(&self, prompt: Prompt) -> &str {
        self.prompts
            .iter()
            .find(|(p, _)| *p == prompt)
            .map_or("", |(_, text)| text.as_str())
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
