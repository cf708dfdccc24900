//! Prompt variants under test: the prompt each named variant (`config::variants`) asks
//! with, and which variant a caller gets.
//!
//! `IDENTIFY_PROMPT_VARIANTS=catalog-v2:80,cues-v1@accounts/fireworks/models/other:20`
//! puts two variants in play, 80/20, the second on another Fireworks model. Assignment is
//! deterministic: a hash of the experiment name (`IDENTIFY_EXPERIMENT`) and the caller's
//! key (their user id, or an anonymous caller's hashed address), so one person sees one
//! behaviour for the whole experiment, and renaming the experiment deals again.

use sha2::{Digest, Sha256};

use crate::config::variants::{Prompt, Variant};
use crate::domain::identify::CatalogEntry;

/// One builder: the system prompt from the catalog, the user's question, and how long
/// an answer may be.
pub struct Builder {
    /// What it tries (the table of variants in `docs/operations.md`).
    pub summary: &'static str,
    system: fn(&[CatalogEntry]) -> String,
    pub question: &'static str,
    pub max_tokens: u32,
}

impl Builder {
    pub fn system_prompt(&self, catalog: &[CatalogEntry]) -> String {
        (self.system)(catalog)
    }
}

const ANSWER: &str = "Answer with JSON only: {\"machine\": \"<name from the list, or Unknown>\", \
                      \"confidence\": <0 to 1>}. Use exactly one name from the list; answer \
                      \"Unknown\" when the photo shows none of them or no gym machine.";

static CATALOG_V1: Builder = Builder {
    summary: "names, other names and visual cues of every machine (the first prompt)",
    system: catalog_v1,
    question: "Which gym machine is in this photo?",
    max_tokens: 200,
};

static CATALOG_V2: Builder = Builder {
    summary: "names and other names only: the shortest prompt, the fewest tokens",
    system: catalog_v2,
    question: "Which gym machine is in this photo?",
    max_tokens: 100,
};

static CUES_V1: Builder = Builder {
    summary: "names, other names and visual cues, with a worked example of telling two look-alikes apart",
    system: cues_v1,
    question: "Which gym machine is in this photo? Compare what you see with the cues first.",
    max_tokens: 200,
};

static DESCRIBE_V1: Builder = Builder {
    summary: "describe-then-answer: the model lists what it sees before it names the machine",
    system: describe_v1,
    question: "Describe the equipment in this photo, then say which machine it is.",
    max_tokens: 400,
};

/// `prompt`'s builder.
pub fn builder(prompt: Prompt) -> &'static Builder {
    match prompt {
        Prompt::CatalogV1 => &CATALOG_V1,
        Prompt::CatalogV2 => &CATALOG_V2,
        Prompt::CuesV1 => &CUES_V1,
        Prompt::DescribeV1 => &DESCRIBE_V1,
    }
}

fn machine_lines(catalog: &[CatalogEntry], cues: bool) -> String {
    let mut lines = String::new();
    for entry in catalog {
        lines.push_str("- ");
        lines.push_str(&entry.name);
        if !entry.synonyms.is_empty() {
            lines.push_str(": ");
            lines.push_str(&entry.synonyms.join(", "));
        }
        if cues && !entry.visual_cues.is_empty() {
            lines.push_str("; ");
            lines.push_str(&entry.visual_cues.join("; "));
        }
        lines.push('\n');
    }
    lines
}

fn catalog_v1(catalog: &[CatalogEntry]) -> String {
    format!(
        "You identify gym machines in photos. {ANSWER}\n\nMachines (name: other names; what to look for):\n{}",
        machine_lines(catalog, true)
    )
}

fn catalog_v2(catalog: &[CatalogEntry]) -> String {
    format!(
        "You identify gym machines in photos. {ANSWER}\n\nMachines (name: other names):\n{}",
        machine_lines(catalog, false)
    )
}

fn cues_v1(catalog: &[CatalogEntry]) -> String {
    format!(
        "You identify gym machines in photos by what sets each apart. {ANSWER}\n\n\
         Worked example. A photo shows a padded seat, a platform for the feet in front of it \
         and a weight sled on angled rails. Both a leg press and a hack squat have a sled on \
         rails; on a hack squat the user stands with shoulder pads on top of them, on a leg \
         press the user sits and pushes the platform away. Seat and platform, no shoulder \
         pads: {{\"machine\": \"Seated Leg Press\", \"confidence\": 0.85}}.\n\n\
         Machines (name: other names; what to look for):\n{}",
        machine_lines(catalog, true)
    )
}

fn describe_v1(catalog: &[CatalogEntry]) -> String {
    format!(
        "You identify gym machines in photos. First look: write down what you see that tells \
         machines apart (seat, pads, handles, cables, weight stack or plates, rails, how the \
         user is placed). Then choose. Answer with JSON only: {{\"observations\": \"<what you \
         see, one sentence>\", \"machine\": \"<name from the list, or Unknown>\", \
         \"confidence\": <0 to 1>}}. Use exactly one name from the list; answer \"Unknown\" \
         when the photo shows none of them or no gym machine.\n\n\
         Machines (name: other names; what to look for):\n{}",
        machine_lines(catalog, true)
    )
}

/// The variant `key` (a user id or an address key) gets in `experiment`: the same one
/// every time, whatever instance answers.
pub fn assign<'a>(experiment: &str, key: &str, variants: &'a [Variant]) -> &'a Variant {
    let digest = Sha256::new()
        .chain_update(experiment.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let bucket = (u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100) as u32;
    let mut upto = 0;
    for variant in variants {
        upto += variant.weight;
        if bucket < upto {
            return variant;
        }
    }
    variants.last().expect("parse refuses an empty list")
}

#[cfg(test)]
mod tests;
