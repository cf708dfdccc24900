//! The prompt, built from the catalog so the model answers with names we can map.

use super::matching::CatalogEntry;

pub const PROMPT_VARIANT: &str = "catalog-v1";

pub fn system_prompt(catalog: &[CatalogEntry]) -> String {
    let mut prompt = String::from(
        "You identify gym machines in photos. Answer with JSON only: \
         {\"machine\": \"<name from the list, or Unknown>\", \"confidence\": <0 to 1>}. \
         Use exactly one name from this list; answer \"Unknown\" when the photo shows none of \
         them or no gym machine.\n\nMachines (name: other names; what to look for):\n",
    );
    for entry in catalog {
        prompt.push_str("- ");
        prompt.push_str(&entry.name);
        if !entry.synonyms.is_empty() {
            prompt.push_str(": ");
            prompt.push_str(&entry.synonyms.join(", "));
        }
        if !entry.visual_cues.is_empty() {
            prompt.push_str("; ");
            prompt.push_str(&entry.visual_cues.join("; "));
        }
        prompt.push('\n');
    }
    prompt
}
