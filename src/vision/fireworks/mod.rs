//! Fireworks AI's OpenAI-compatible chat completions, behind an overall deadline,
//! jittered retries for 429/5xx only (never 400/401/403/404/422), and a circuit breaker
//! that answers at once while Fireworks keeps failing ([`breaker`]). What it answers,
//! and why an answer may not be usable, is [`answer`].

mod answer;
mod breaker;

pub use answer::{Failure, ModelAnswer, Usage, VisionError, parse_verdict};
pub use breaker::BreakerSettings;

use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

use crate::telemetry::metrics::{self, Upstream};
use answer::{Completion, answer_of};
use breaker::Breaker;

/// What one identification asks: the variant's prompts, its token budget and model.
pub struct Ask<'a> {
    pub system: &'a str,
    pub question: &'a str,
    pub max_tokens: u32,
    /// `None`: the deployment's model.
    pub model: Option<&'a str>,
}

pub struct Fireworks {
    http: reqwest::Client,
    endpoint: Url,
    api_key: SecretString,
    pub model: String,
    deadline: Duration,
    breaker: Breaker,
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
            breaker: Breaker::new(breaker),
        }
    }

    /// The model a call with `ask` runs on.
    pub fn model_for<'a>(&'a self, ask: &Ask<'a>) -> &'a str {
        ask.model.unwrap_or(&self.model)
    }

    /// The model `variant` runs on: its own, or the deployment's.
    pub fn model_for_variant<'a>(
        &'a self,
        variant: &'a crate::config::variants::Variant,
    ) -> &'a str {
        variant.model.as_deref().unwrap_or(&self.model)
    }

    /// Whether the circuit breaker refuses calls right now (nothing would be sent).
    pub fn circuit_open(&self) -> bool {
        self.breaker.is_open()
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
    fn backoff_is_bounded() {
        for attempt in 0..10 {
            assert!(backoff(attempt) <= Duration::from_secs(2));
        }
    }
}
