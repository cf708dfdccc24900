//! Maps the model's answer onto the catalog: exact name or id, then a synonym, then a
//! fuzzy match. Weak matches cap the confidence; nothing close enough is "Unknown".

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::identify::CatalogEntry;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Candidate {
    pub machine_id: String,
    pub machine: String,
    /// How well the model's words match this machine (0..1).
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub best: Option<Candidate>,
    /// Best first, at most three.
    pub candidates: Vec<Candidate>,
}

/// Below this, nothing fits: the answer is "Unknown".
pub const MIN_SCORE: f32 = 0.75;
/// Below this, the match is weak: confidence is capped at the score.
pub const STRONG_SCORE: f32 = 0.92;

fn normalise(text: &str) -> String {
    let lowered: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = lowered
        .split_whitespace()
        .filter(|w| !matches!(*w, "machine" | "the" | "a" | "an" | "station"))
        .collect();
    words.join(" ")
}

fn similarity(a: &str, b: &str) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    strsim::jaro_winkler(a, b).max(strsim::normalized_levenshtein(a, b)) as f32 * 0.97
}

/// Scores every machine against `answer` and picks the best.
pub fn match_answer(answer: &str, catalog: &[CatalogEntry]) -> Match {
    let wanted = normalise(answer);
    let mut scored: Vec<Candidate> = catalog
        .iter()
        .map(|entry| {
            let exact = wanted == normalise(&entry.name)
                || wanted == normalise(&entry.id.replace('_', " "));
            let score = if exact {
                1.0
            } else if entry.synonyms.iter().any(|s| normalise(s) == wanted) {
                0.98
            } else {
                std::iter::once(&entry.name)
                    .chain(entry.synonyms.iter())
                    .map(|name| similarity(&wanted, &normalise(name)))
                    .fold(0.0_f32, f32::max)
            };
            Candidate {
                machine_id: entry.id.clone(),
                machine: entry.name.clone(),
                score: (score * 1000.0).round() / 1000.0,
            }
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.machine.cmp(&b.machine))
    });
    scored.truncate(3);
    let best = scored.first().filter(|c| c.score >= MIN_SCORE).cloned();
    Match {
        best,
        candidates: scored,
    }
}

/// The confidence to report: the model's, capped by a weak match, 0 for no match.
pub fn confidence(model_confidence: f32, best: Option<&Candidate>) -> f32 {
    let model = if model_confidence.is_finite() {
        model_confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    match best {
        None => 0.0,
        Some(c) if c.score < STRONG_SCORE => model.min(c.score),
        Some(_) => model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<CatalogEntry> {
        let entry = |id: &str, name: &str, synonyms: &[&str]| CatalogEntry {
            id: id.into(),
            name: name.into(),
            synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
            visual_cues: vec![],
        };
        vec![
            entry(
                "leg_press",
                "Leg Press",
                &["45-degree leg press", "sled leg press"],
            ),
            entry(
                "lat_pulldown",
                "Lat Pulldown",
                &["lat pull-down machine", "pulldown"],
            ),
            entry(
                "pec_deck",
                "Pec Deck",
                &["pec fly machine", "butterfly machine"],
            ),
            entry("treadmill", "Treadmill", &["running machine"]),
        ]
    }

    #[test]
    fn exact_names_ids_and_synonyms_match_fully() {
        let c = catalog();
        assert_eq!(
            match_answer("Leg Press", &c).best.unwrap().machine_id,
            "leg_press"
        );
        assert_eq!(
            match_answer("leg press machine", &c).best.unwrap().score,
            1.0
        );
        assert_eq!(
            match_answer("lat_pulldown", &c).best.unwrap().machine_id,
            "lat_pulldown"
        );
        let butterfly = match_answer("Butterfly Machine", &c).best.unwrap();
        assert_eq!(
            (butterfly.machine_id.as_str(), butterfly.score),
            ("pec_deck", 0.98)
        );
    }

    #[test]
    fn misspellings_match_fuzzily_with_a_capped_confidence() {
        let c = catalog();
        let m = match_answer("Tredmil", &c);
        let best = m.best.clone().unwrap();
        assert_eq!(best.machine_id, "treadmill");
        assert!(best.score < 1.0);
        let expected = if best.score < STRONG_SCORE {
            best.score
        } else {
            0.99
        };
        assert_eq!(confidence(0.99, Some(&best)), expected);
        // A weak match caps the model's confidence.
        let weak = Candidate {
            score: 0.8,
            ..best.clone()
        };
        assert_eq!(confidence(0.99, Some(&weak)), 0.8);
        assert_eq!(m.candidates.len(), 3);
    }

    #[test]
    fn nothing_close_is_unknown_with_zero_confidence() {
        let m = match_answer("kettlebell rack", &catalog());
        assert!(m.best.is_none());
        assert_eq!(confidence(0.9, m.best.as_ref()), 0.0);
        assert!(match_answer("", &catalog()).best.is_none());
    }
}
