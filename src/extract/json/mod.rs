//! A JSON body extractor whose errors keep FastAPI's shape: malformed JSON and wrong
//! types answer 422 with `loc` pointing at the field (`["body", "notes"]`), an
//! oversized body 413, a non-JSON content type 415. All in the JSON envelope.
//!
//! `web::Json` reports serde errors without the field path, so this reads the body
//! itself and deserializes through `serde_path_to_error`.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::domain::bounded::Refusal;
use crate::error::{ApiError, LocItem, ValidationIssue, nul_issue};

/// How long a request body may stall (no byte arriving) before the request is answered
/// 408. Bodies are read by the handlers' extractors, after actix's own 5 s deadline for
/// the request head, so without this a client could hold a request open for ever.
pub const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest JSON body accepted unless a route sets [`JsonLimit`].
pub const DEFAULT_JSON_LIMIT: usize = 256 * 1024;

/// App data that overrides the JSON body limit for a scope.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for ApiJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<JsonLimit>()
            .map_or(DEFAULT_JSON_LIMIT, |l| l.0);
        let precheck = check_headers(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            precheck?;
            let mut body = BytesMut::new();
            while let Some(chunk) = next_chunk(&mut payload).await? {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("Could not read the request body: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse_body(&body).map(ApiJson)
        })
    }
}

/// The next chunk of a body, or a 408 when the client has sent nothing for
/// [`BODY_IDLE_TIMEOUT`] (a slow or stalled client must not hold a worker for ever).
pub async fn next_chunk<S: futures_util::Stream + Unpin>(
    payload: &mut S,
) -> Result<Option<S::Item>, ApiError> {
    tokio::time::timeout(BODY_IDLE_TIMEOUT, payload.next())
        .await
        .map_err(|_| {
            ApiError::RequestTimeout(format!(
                "The request body stalled: nothing arrived for {} seconds",
                BODY_IDLE_TIMEOUT.as_secs()
            ))
        })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("Request body is larger than {limit} bytes"))
}

fn check_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let json = match req.mime_type() {
        Ok(None) => true,
        Ok(Some(m)) => {
            m.subtype().as_str() == "json" || m.suffix().is_some_and(|s| s.as_str() == "json")
        }
        Err(_) => false,
    };
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "Content-Type must be application/json".into(),
        ));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large(limit));
    }
    Ok(())
}

/// Deserializes a JSON body, turning serde's errors into located 422 issues.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into()],
            "missing",
            "Field required",
        )]));
    }
    // Every body is a JSON object. serde would also read a struct from an array of its
    // fields in order (`["leg_press", null]`), which FastAPI never accepted.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into()],
            "model_attributes_type",
            "Input should be a valid dictionary or object",
        )]));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let issue = issue_for(located(err.path()), err.inner());
        if is_refusal(err.inner()) {
            ApiError::Validation(every_refusal::<T>(body, issue))
        } else {
            ApiError::Validation(vec![issue])
        }
    })?;
    // Trailing characters after the value are a decode error too.
    de.end()
        .map_err(|e| ApiError::Validation(vec![issue_for(vec!["body".into()], &e)]))?;
    if has_nul_escape(body) {
        // Valid JSON, but no Postgres text or jsonb value can hold it.
        return Err(ApiError::Validation(vec![nul_issue(vec!["body".into()])]));
    }
    Ok(value)
}

/// Where a serde error happened, as an issue's `loc`.
fn located(path: &serde_path_to_error::Path) -> Vec<LocItem> {
    let mut loc: Vec<LocItem> = vec!["body".into()];
    loc.extend(path.iter().filter_map(|segment| match segment {
        serde_path_to_error::Segment::Seq { index } => Some(LocItem::Index(*index)),
        serde_path_to_error::Segment::Map { key } => Some(LocItem::Key(key.clone())),
        serde_path_to_error::Segment::Enum { variant } => Some(LocItem::Key(variant.clone())),
        serde_path_to_error::Segment::Unknown => None,
    }));
    loc
}

fn is_refusal(err: &serde_json::Error) -> bool {
    Refusal::parse(&without_position(err)).is_some()
}

/// Every refused value of a body whose first refusal is `first`, as FastAPI lists every
/// invalid field: the body is read again without each refused field until it reads
/// (deserializing is what checks a bounded value, and serde stops at the first error).
/// What the body would answer if no value were refused comes first: a syntax error, a
/// NUL character, or a wrong type, a missing or an unknown field (alone, as serde
/// reports it).
fn every_refusal<T: DeserializeOwned>(body: &[u8], first: ValidationIssue) -> Vec<ValidationIssue> {
    let mut json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(e) => return vec![issue_for(vec!["body".into()], &e)],
    };
    if has_nul_escape(body) {
        return vec![nul_issue(vec!["body".into()])];
    }
    let mut refused = vec![first];
    // Each refusal found costs a read of the whole body: a hostile body of refused values
    // (a batch of 100 entries, each with several) is listed only up to this many.
    while refused.len() < MAX_REFUSALS_LISTED {
        let Some(removed) = remove(&mut json, &refused[refused.len() - 1].loc) else {
            return refused;
        };
        let err = match serde_path_to_error::deserialize::<_, T>(&json) {
            Ok(_) => return refused,
            Err(err) => err,
        };
        let issue = issue_for(located(err.path()), err.inner());
        if refused.iter().any(|r| r.loc == issue.loc) || issue.loc == removed {
            // Missing only because it was removed.
            return refused;
        }
        if !is_refusal(err.inner()) {
            return vec![issue];
        }
        refused.push(issue);
    }
    refused
}

/// The most refused values one 422 lists (FastAPI lists every one; a body with more
/// lists its first this many).
const MAX_REFUSALS_LISTED: usize = 32;

/// Removes the object member at `loc` (`["body", "entries", 2, "confidence"]`) from
/// `json`; returns `loc`, or `None` when `loc` names no object member.
fn remove(json: &mut serde_json::Value, loc: &[LocItem]) -> Option<Vec<LocItem>> {
    let (LocItem::Key(last), parents) = loc.get(1..)?.split_last()? else {
        return None;
    };
    let mut at = json;
    for item in parents {
        at = match item {
            LocItem::Key(key) => at.get_mut(key.as_str())?,
            LocItem::Index(i) => at.get_mut(*i)?,
        };
    }
    at.as_object_mut()?.remove(last.as_str())?;
    Some(loc.to_vec())
}

/// Whether a JSON text holds the escape `\u0000` (a NUL character in a string). JSON
/// has backslashes only inside strings, where an odd run of them starts an escape.
fn has_nul_escape(body: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && body[i + 1..].starts_with(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

fn issue_for(mut loc: Vec<LocItem>, err: &serde_json::Error) -> ValidationIssue {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            // FastAPI locates a decode error by its position in the body.
            ValidationIssue::new(
                vec!["body".into(), LocItem::Index(err.column())],
                "json_invalid",
                format!("JSON decode error: {}", without_position(err)),
            )
        }
        Category::Data => {
            let message = without_position(err);
            if let Some((kind, msg)) = Refusal::parse(&message) {
                ValidationIssue::new(loc, kind, msg)
            } else if let Some(field) = between_backticks(&message, "missing field `") {
                loc.push(LocItem::Key(field));
                ValidationIssue::new(loc, "missing", "Field required")
            } else if let Some(field) = between_backticks(&message, "unknown field `") {
                // The path already ends at the unknown key.
                if loc.last() != Some(&LocItem::Key(field.clone())) {
                    loc.push(LocItem::Key(field));
                }
                ValidationIssue::new(loc, "extra_forbidden", "Extra inputs are not permitted")
            } else if message.starts_with("invalid type") {
                ValidationIssue::new(loc, "type_error", capitalised(&message))
            } else {
                ValidationIssue::new(loc, "value_error", capitalised(&message))
            }
        }
    }
}

fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn between_backticks(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next().map(str::to_owned)
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
