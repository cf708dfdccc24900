//! One question to the model: a variant's prompt and a prepared photo in, an [`Answer`]
//! mapped onto the catalog out. `POST /identify` and `machinemate-api eval` both ask
//! through here, so an offline evaluation measures what users get.

use std::time::{Duration, Instant};

use super::answer::{Answer, VisionCatalog};
use crate::config::variants::Variant;
use crate::vision::fireworks::{Ask, Fireworks, VisionError};
use crate::vision::image::Prepared;
use crate::vision::matching;
use crate::vision::variants;

/// What the model made of the photo, and how long it took to say so.
pub struct Asked {
    pub answer: Answer,
    /// Time waiting for Fireworks (retries included).
    pub upstream: Duration,
}

/// The model could not be asked (timed out, refused the request, circuit open): why, and
/// how long the attempt took.
pub struct Unavailable {
    pub why: String,
    pub upstream: Duration,
}

/// Asks `vision` which machine `photo` shows, with `variant`'s prompt and model.
pub async fn which_machine(
    vision: &Fireworks,
    catalog: &VisionCatalog,
    variant: &Variant,
    photo: &Prepared,
) -> Result<Asked, Unavailable> {
    let builder = variants::builder(variant.prompt);
    let question = Ask {
        system: catalog.prompt(variant.prompt),
        question: builder.question,
        max_tokens: builder.max_tokens,
        model: variant.model.as_deref(),
    };
    let started = Instant::now();
    let outcome = vision.identify(&question, &photo.bytes, photo.mime).await;
    let upstream = started.elapsed();
    let answer = match outcome {
        Ok(model) => {
            let matched = matching::match_answer(&model.machine, &catalog.entries);
            Answer {
                machine_id: matched.best.as_ref().map(|b| b.machine_id.clone()),
                machine: matched
                    .best
                    .as_ref()
                    .map_or_else(|| "Unknown".to_owned(), |b| b.machine.clone()),
                confidence: matching::confidence(model.confidence, matched.best.as_ref()),
                match_score: matched.candidates.first().map(|c| c.score),
                candidates: matched.candidates,
                raw_text: Some(model.raw_text),
                raw_machine: Some(model.machine),
                failure: None,
                error: None,
                usage: model.usage,
            }
        }
        // The model answered, but not usefully: "Unknown", and the reason recorded.
        Err(VisionError::BadAnswer {
            failure,
            why,
            usage,
            raw_text,
        }) => Answer {
            raw_text,
            usage,
            ..Answer::unknown(Some(failure.as_str()), Some(why))
        },
        Err(VisionError::Unavailable(why)) => return Err(Unavailable { why, upstream }),
    };
    Ok(Asked { answer, upstream })
}
