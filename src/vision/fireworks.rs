//! Fireworks AI's OpenAI-compatible chat completions, behind an overall deadline,
//! jittered retries for 429/5xx only (never 400/401/403/404/422), and a circuit breaker
//! that answers at once while Fireworks keeps failing.

use crate::telemetry::metrics::{self, Upstream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

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

/// What one identification asks: the variant's prompts, its token budget and model.
pub struct Ask<'a> {
    pub system: &'a str,
    pub question: &'a str,
    pub max_tokens: u32,
    /// `None`: the deployment's model.
    pub model: Option<&'a str>,
}

/// What the model said.
#[derive(Debug, Clone)]
pub struct ModelAnswer {
    pub raw_text: String,
    pub machine: String,
    pub confidence: f32,
    pub usage: Usage,
}

pub struct BreakerSettings {
    pub threshold: u32,
    pub cooldown: Duration,
}

struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// Opens after `threshold` failed calls in a row; after `cooldown`, one call may try.
struct Breaker {
    settings: BreakerSettings,
    state: Mutex<BreakerState>,
}

impl Breaker {
    fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        match state.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half-open: let this one call through; a failure re-opens at once.
                state.open_until = None;
                state.consecutive_failures = self.settings.threshold.saturating_sub(1);
                true
            }
            None => true,
        }
    }

    fn record(&self, ok: bool) {
        let mut state = self.state.lock().expect("breaker lock");
        if ok {
            state.consecutive_failures = 0;
            state.open_until = None;
        } else {
            state.consecutive_failures += 1;
            if state.consecutive_failures >= self.settings.threshold {
                state.open_until = Some(Instant::now() + self.settings.cooldown);
                tracing::warn!(
                    cooldown_secs = self.settings.cooldown.as_secs(),
                    "Fireworks circuit opened"
                );
            }
        }
    }
}

pub struct Fireworks {
    http: reqwest::Client,
    endpoint: Url,
    api_key: SecretString,
    pub model: String,
    deadline: Duration,
    breaker: Breaker,
}

#[derive(Deserialize)]
struct Completion {
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
fn answer_of(completion: Completion) -> Result<ModelAnswer, VisionError> {
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

/// Full jitter: a random wait up to `base * 2^attempt`, at most 2 s.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(200 * 2u64.pow(attempt.min(4))).min(Duration::from_secs(2));
    let random = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    cap * random / 1000
}

impl Fireworks {
    pub fn new(
        http: reqwest::Client,
        base_url: &Url,
        api_key: SecretString,
        model: String,
        deadline: Duration,
        breaker: BreakerSettings,
    ) -> Self {
        let endpoint = Url::parse(&format!(
            "{}/chat/completions",
            base_url.as_str().trim_end_matches('/')
        ))
        .expect("a base URL extends to a URL");
        Fireworks {
            http,
            endpoint,
            api_key,
            model,
            deadline,
            breaker: Breaker {
                settings: breaker,
                state: Mutex::new(BreakerState {
                    consecutive_failures: 0,
                    open_until: None,
                }),
            },
        }
    }

    /// The model a call with `ask` runs on.
    pub fn model_for<'a>(&'a self, ask: &Ask<'a>) -> &'a str {
        ask.model.unwrap_or(&self.model)
    }

    /// The model `variant` runs on: its own, or the deployment's.
    pub fn model_for_variant<'a>(&'a self, variant: &'a super::variants::Variant) -> &'a str {
        variant.model.as_deref().unwrap_or(&self.model)
    }

    /// Asks the model which machine the photo shows.
    pub async fn identify(
        &self,
        ask: &Ask<'_>,
        image: &[u8],
        mime: &str,
    ) -> Result<ModelAnswer, VisionError> {
        if !self.breaker.allow() {
            return Err(VisionError::Unavailable(
                "Identification is temporarily unavailable; try again shortly".into(),
            ));
        }
        let result = self.call(ask, image, mime).await;
        self.breaker
            .record(!matches!(result, Err(VisionError::Unavailable(_))));
        result
    }

    async fn call(
        &self,
        ask: &Ask<'_>,
        image: &[u8],
        mime: &str,
    ) -> Result<ModelAnswer, VisionError> {
        let data_uri = format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(image)
        );
        let body = json!({
            "model": self.model_for(ask),
            "temperature": 0,
            "max_tokens": ask.max_tokens,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": ask.system},
                {"role": "user", "content": [
                    {"type": "text", "text": ask.question},
                    {"type": "image_url", "image_url": {"url": data_uri}}
                ]}
            ]
        });
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let remaining = self.deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(VisionError::Unavailable("Identification timed out".into()));
            }
            let attempt_started = Instant::now();
            let sent = self
                .http
                .post(self.endpoint.clone())
                .bearer_auth(self.api_key.expose_secret())
                .timeout(remaining)
                .json(&body)
                .send()
                .await;
            metrics::upstream_call(
                Upstream::Fireworks,
                attempt_started,
                sent.as_ref().is_ok_and(|r| r.status().is_success()),
            );
            let retry_after = match sent {
                Ok(response) if response.status().is_success() => {
                    let completion: Completion =
                        response.json().await.map_err(|e| VisionError::BadAnswer {
                            failure: Failure::NoAnswer,
                            why: format!("the response is not a completion: {e}"),
                            usage: Usage::default(),
                            raw_text: None,
                        })?;
                    return answer_of(completion);
                }
                Ok(response)
                    if response.status().as_u16() == 429 || response.status().is_server_error() =>
                {
                    tracing::warn!(
                        status = response.status().as_u16(),
                        attempt,
                        "Fireworks asked to retry"
                    );
                    response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs)
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    tracing::error!(status, "Fireworks refused the request");
                    return Err(VisionError::Unavailable(format!(
                        "Identification is unavailable (upstream answered {status})"
                    )));
                }
                Err(e) if e.is_timeout() => {
                    return Err(VisionError::Unavailable("Identification timed out".into()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "Fireworks call failed");
                    None
                }
            };
            let wait = retry_after.unwrap_or_else(|| backoff(attempt));
            if started.elapsed() + wait >= self.deadline {
                return Err(VisionError::Unavailable("Identification timed out".into()));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..10 {
            assert!(backoff(attempt) <= Duration::from_secs(2));
        }
    }
}
