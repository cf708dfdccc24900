//! What Fireworks answers: the chat completion on the wire, the verdict in its text,
//! what the call cost, and why an answer was not usable.

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// Fireworks could not answer in time or refused: a 503 for the app.
    #[error("{0}")]
    Unavailable(String),
    /// Fireworks answered, but not with what was asked: recorded (with why, and what
    /// the call cost), answered as Unknown.
    #[error("{why}")]
    BadAnswer {
        failure: Failure,
        why: String,
        usage: Usage,
        raw_text: Option<String>,
    },
}

/// Why a model's answer was not usable; recorded with the identification
/// (`identification_events.failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No JSON object with a machine in the text.
    Unparseable,
    /// The model declined (a `refusal`, or the content filter stopped it).
    Refused,
    /// The answer stopped at its token limit before the JSON was complete.
    Truncated,
    /// No choice, or an empty one.
    NoAnswer,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Unparseable => "unparseable",
            Failure::Refused => "refused",
            Failure::Truncated => "truncated",
            Failure::NoAnswer => "no_answer",
        }
    }
}

/// What a call cost, when the model reports it (OpenAI's `usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u32>,
    #[serde(default)]
    pub completion_tokens: Option<u32>,
    /// The image's share of `prompt_tokens`, where the provider breaks it down.
    #[serde(default)]
    pub image_tokens: Option<u32>,
}

/// What the model said.
#[derive(Debug, Clone)]
pub struct ModelAnswer {
    pub raw_text: String,
    pub machine: String,
    pub confidence: f32,
    pub usage: Usage,
}

#[derive(Deserialize)]
pub(super) struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens: Option<u32>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    image_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Verdict {
    machine: String,
    #[serde(default)]
    confidence: Option<f64>,
}

/// The JSON object in a model's text, even with prose or code fences around it; or why
/// there is none.
pub fn parse_verdict(text: &str) -> Result<(String, f32), String> {
    let start = text.find('{');
    let end = text.rfind('}');
    let (Some(start), Some(end)) = (start, end) else {
        return Err("the answer holds no JSON object".into());
    };
    if end < start {
        return Err("the answer holds no JSON object".into());
    }
    let verdict: Verdict = serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the answer's JSON is malformed: {e}"))?;
    let confidence = verdict.confidence.unwrap_or(0.0);
    let confidence = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok((verdict.machine.trim().to_owned(), confidence as f32))
}

/// The verdict in a completion, or why it has none.
pub(super) fn answer_of(completion: Completion) -> Result<ModelAnswer, VisionError> {
    let usage = completion.usage.map_or(Usage::default(), |u| Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        image_tokens: u.prompt_tokens_details.and_then(|d| d.image_tokens),
    });
    let bad = |failure, why: String, raw_text: Option<String>| VisionError::BadAnswer {
        failure,
        why,
        usage,
        raw_text,
    };
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(bad(
            Failure::NoAnswer,
            "the completion has no choices".into(),
            None,
        ));
    };
    if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
        return Err(bad(
            Failure::Refused,
            "the model declined".into(),
            Some(refusal),
        ));
    }
    let finish = choice.finish_reason.unwrap_or_default();
    let Some(text) = choice.message.content.filter(|t| !t.trim().is_empty()) else {
        return Err(if finish == "content_filter" {
            bad(
                Failure::Refused,
                "the content filter stopped the answer".into(),
                None,
            )
        } else {
            bad(Failure::NoAnswer, "the completion is empty".into(), None)
        });
    };
    match parse_verdict(&text) {
        Ok((machine, confidence)) => Ok(ModelAnswer {
            raw_text: text,
            machine,
            confidence,
            usage,
        }),
        Err(why) => {
            let failure = match finish.as_str() {
                "length" => Failure::Truncated,
                "content_filter" => Failure::Refused,
                _ => Failure::Unparseable,
            };
            Err(bad(failure, why, Some(text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdicts_are_found_inside_prose_and_fences() {
        assert_eq!(
            parse_verdict("Sure! ```json\n{\"machine\": \"Leg Press\", \"confidence\": 0.91}\n``` Hope it helps").unwrap(),
            ("Leg Press".to_owned(), 0.91)
        );
        assert_eq!(parse_verdict(r#"{"machine": "Unknown"}"#).unwrap().1, 0.0);
        assert_eq!(
            parse_verdict(r#"{"machine": "X", "confidence": 7}"#)
                .unwrap()
                .1,
            1.0
        );
        assert!(parse_verdict("no idea").is_err());
        assert!(parse_verdict("{machine: leg press}").is_err());
    }

    fn completion(value: serde_json::Value) -> Completion {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn unusable_answers_say_why_and_what_they_cost() {
        let usage = json!({"prompt_tokens": 1200, "completion_tokens": 30,
                           "prompt_tokens_details": {"image_tokens": 800}});
        let ok = answer_of(completion(json!({"choices": [{"message": {"content": "{\"machine\": \"Treadmill\", \"confidence\": 0.8}"}, "finish_reason": "stop"}], "usage": usage}))).unwrap();
        assert_eq!(
            ok.usage,
            Usage {
                prompt_tokens: Some(1200),
                completion_tokens: Some(30),
                image_tokens: Some(800)
            }
        );
        let failure = |value| match answer_of(completion(value)) {
            Err(VisionError::BadAnswer { failure, .. }) => failure,
            other => panic!("{other:?}"),
        };
        assert_eq!(failure(json!({"choices": []})), Failure::NoAnswer);
        assert_eq!(
            failure(json!({"choices": [{"message": {"refusal": "I can't help with that."}}]})),
            Failure::Refused
        );
        assert_eq!(
            failure(
                json!({"choices": [{"message": {"content": ""}, "finish_reason": "content_filter"}]})
            ),
            Failure::Refused
        );
        assert_eq!(
            failure(
                json!({"choices": [{"message": {"content": "{\"machine\": \"Tre"}, "finish_reason": "length"}]})
            ),
            Failure::Truncated
        );
        assert_eq!(
            failure(
                json!({"choices": [{"message": {"content": "It is a treadmill."}, "finish_reason": "stop"}]})
            ),
            Failure::Unparseable
        );
    }
}
