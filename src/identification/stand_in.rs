//! The local stand-in for the model (development without `FIREWORKS_API_KEY`): the
//! photo goes through every step production takes (allowance, the same reading, type
//! check and decoding, so a truncated JPEG is the same 422), then, instead of asking
//! Fireworks, a catalog machine is picked by the photo's digest. The same photo always
//! gets the same machine; answers say `mocked: true` and stay out of the quality
//! metrics (`db::quality` leaves mocked identifications out).

use sha2::{Digest, Sha256};

use super::answer::{Answer, VisionCatalog};
use crate::vision::image::Prepared;
use crate::vision::matching::Candidate;

/// The model name the stand-in's answers are cached under.
pub const MODEL: &str = "local-stand-in";

/// A catalog machine for `photo`, with a confidence from 0.60 to 0.99 (so the app's
/// low-confidence mark, below 0.7, shows for some photos); "Unknown" only for an empty
/// catalog.
pub fn answer(catalog: &VisionCatalog, photo: &Prepared) -> Answer {
    let digest = Sha256::digest(&photo.bytes);
    let pick = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let Some(entry) = catalog
        .entries
        .get((pick % catalog.entries.len().max(1) as u64) as usize)
    else {
        return Answer::unknown(None, None);
    };
    let candidate = Candidate {
        machine_id: entry.id.clone(),
        machine: entry.name.clone(),
        score: 1.0,
    };
    Answer {
        machine_id: Some(entry.id.clone()),
        machine: entry.name.clone(),
        confidence: 0.6 + f32::from(digest[8] % 40) / 100.0,
        candidates: vec![candidate],
        match_score: Some(1.0),
        ..Answer::unknown(None, None)
    }
}
