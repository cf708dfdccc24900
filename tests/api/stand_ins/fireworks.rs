//! A stand-in for Fireworks AI speaking the OpenAI chat-completions wire format, able
//! to answer well, slowly, with 429/5xx, or with malformed content.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::StandIn;

#[derive(Clone, Debug)]
pub enum Reply {
    /// A completion whose message content is this text.
    Content(String),
    /// A completion with no choices.
    NoChoices,
    /// An error status (with `Retry-After: 0` for 429).
    Status(u16),
    /// Never answers (within any test's patience).
    Hang,
    /// A good answer, after a while.
    Slow(Duration, String),
    /// The model declines (OpenAI's `refusal`).
    Refusal(String),
}

/// Decides each answer from the request (the prompt, the model), instead of the queue.
pub type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// The prompt variant a request was built with, told by its system prompt (see
/// `vision::variants`).
pub fn variant_of(request: &Value) -> &'static str {
    let system = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    if system.contains("Worked example") {
        "cues-v1"
    } else if system.contains("First look") {
        "describe-v1"
    } else if system.contains("what to look for") {
        "catalog-v1"
    } else {
        "catalog-v2"
    }
}

pub fn says(machine: &str, confidence: f64) -> Reply {
    Reply::Content(json!({"machine": machine, "confidence": confidence}).to_string())
}

struct Script {
    replies: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Reply>,
    responder: Mutex<Option<Responder>>,
    calls: AtomicUsize,
    last_request: Mutex<Option<Value>>,
}

pub struct FireworksServer {
    pub base_url: String,
    script: Arc<Script>,
}

impl FireworksServer {
    /// Answers with `replies` in order, then `fallback` for ever.
    pub async fn start(replies: Vec<Reply>, fallback: Reply) -> FireworksServer {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            fallback: Mutex::new(fallback),
            responder: Mutex::new(None),
            calls: AtomicUsize::new(0),
            last_request: Mutex::new(None),
        });
        let data = web::Data::from(script.clone());
        let server = StandIn::http(2, move |cfg| {
            cfg.app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(32 * 1024 * 1024))
                .route("/inference/v1/chat/completions", web::post().to(complete));
        });
        FireworksServer {
            base_url: server.url("/inference/v1"),
            script,
        }
    }

    pub fn calls(&self) -> usize {
        self.script.calls.load(Ordering::SeqCst)
    }

    pub fn last_request(&self) -> Value {
        self.script
            .last_request
            .lock()
            .unwrap()
            .clone()
            .expect("a request arrived")
    }

    /// Answers every request with what `responder` says of it from now on.
    pub fn set_responder(&self, responder: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        *self.script.responder.lock().unwrap() = Some(Arc::new(responder));
    }

    pub fn set_fallback(&self, reply: Reply) {
        *self.script.fallback.lock().unwrap() = reply;
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FIREWORKS_API_KEY", "fw-test-key".into()),
            ("FIREWORKS_BASE_URL", self.base_url.clone()),
            (
                "FIREWORKS_MODEL",
                "accounts/fireworks/models/test-vision".into(),
            ),
        ]
    }
}

async fn complete(
    script: web::Data<Script>,
    body: web::Json<Value>,
    req: actix_web::HttpRequest,
) -> HttpResponse {
    script.calls.fetch_add(1, Ordering::SeqCst);
    assert_eq!(
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer fw-test-key")
    );
    let request = body.into_inner();
    let responder = script.responder.lock().unwrap().clone();
    let reply = match responder {
        Some(responder) => responder(&request),
        None => script
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| script.fallback.lock().unwrap().clone()),
    };
    // Usage as Fireworks reports it: the prompt's tokens (about four characters each)
    // plus the image's.
    let system = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    let prompt_tokens = 850 + system.len() / 4;
    let model = request["model"].clone();
    *script.last_request.lock().unwrap() = Some(request);
    match reply {
        Reply::Content(text) => HttpResponse::Ok().json(json!({
            "id": "cmpl-test", "object": "chat.completion", "created": 0,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 12,
                      "total_tokens": prompt_tokens + 12,
                      "prompt_tokens_details": {"image_tokens": 850}}
        })),
        Reply::Refusal(text) => HttpResponse::Ok().json(json!({
            "id": "cmpl-test", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": null, "refusal": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 9}
        })),
        Reply::NoChoices => HttpResponse::Ok().json(json!({"id": "cmpl-test", "object": "chat.completion", "choices": []})),
        Reply::Status(429) => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", "0"))
            .json(json!({"error": {"message": "rate limited", "type": "rate_limit"}})),
        Reply::Status(code) => HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
            .json(json!({"error": {"message": "upstream error", "code": code}})),
        Reply::Slow(delay, text) => {
            tokio::time::sleep(delay).await;
            HttpResponse::Ok().json(json!({
                "id": "cmpl-test", "object": "chat.completion", "created": 0,
                "model": "accounts/fireworks/models/test-vision",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]
            }))
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::GatewayTimeout().finish()
        }
    }
}
