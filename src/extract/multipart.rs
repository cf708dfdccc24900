//! Reading one file field of a multipart body, with its size limit enforced while
//! reading (413), and a missing or empty field answered as a located 422.
//!
//! The whole body is bounded too: other fields are drained, but they count against the
//! same limit (plus a little for part heads), and at most [`MAX_PARTS`] parts are read,
//! so a body of endless small or large fields is a 413, not minutes of work.

use actix_multipart::Multipart;
use actix_web::web::{Bytes, BytesMut};

use super::json::next_chunk;
use crate::error::{ApiError, ApiResult, ValidationIssue};

/// The most parts a form may have (the app sends one).
pub const MAX_PARTS: usize = 16;
/// Bytes allowed for fields other than the wanted one, beyond its own limit.
const OTHER_FIELDS_BYTES: usize = 64 * 1024;

/// How long a photo waits for its turn to be read before a 503.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Turns to hold a photo in memory (`UPLOADS_IN_MEMORY`). At most so many bodies of up
/// to 10 MB are held at once (the others wait unread, their bytes in the socket, for up
/// to 10 s, then get a 503), so memory stays bounded whatever the concurrency.
pub struct UploadSlots(tokio::sync::Semaphore);

impl UploadSlots {
    pub fn new(slots: usize) -> Self {
        UploadSlots(tokio::sync::Semaphore::new(slots))
    }

    /// A turn to read a photo into memory, held until dropped.
    pub async fn turn(&self) -> ApiResult<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout(TURN_WAIT, self.0.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Unavailable(
                "Too many photos are arriving right now; try again in a moment".into(),
            )),
        }
    }
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("Malformed multipart body: {e}"))
}

/// The body length a request declares (`Content-Length`), 0 when it declares none: a
/// hint for [`read_field`], never trusted as a limit.
pub fn declared_length(req: &actix_web::HttpRequest) -> usize {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The bytes of field `name` (other fields are drained and ignored). `size_hint` (the
/// declared body length, see [`declared_length`]) sizes the buffer once, up to
/// `max_bytes`, instead of letting it double its way there: a 10 MB photo then holds
/// 10 MB, not a 16 MB buffer after a copy through an 8 MB one.
pub async fn read_field(
    mut form: Multipart,
    name: &str,
    max_bytes: usize,
    size_hint: usize,
) -> ApiResult<Bytes> {
    let issue = |kind: &str, msg: String| {
        ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into(), name.into()],
            kind,
            msg,
        )])
    };
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "The form is larger than {max_bytes} bytes or has more than {MAX_PARTS} parts"
        ))
    };
    let mut parts = 0;
    let mut total = 0usize;
    while let Some(field) = next_chunk(&mut form).await? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(too_large());
        }
        let mut field = field.map_err(malformed)?;
        let wanted = field.name() == Some(name);
        let mut buffer = if wanted {
            BytesMut::with_capacity(size_hint.min(max_bytes))
        } else {
            BytesMut::new()
        };
        while let Some(chunk) = next_chunk(&mut field).await? {
            let chunk = chunk.map_err(malformed)?;
            total += chunk.len();
            if wanted {
                if buffer.len() + chunk.len() > max_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The {name} is larger than {max_bytes} bytes"
                    )));
                }
                buffer.extend_from_slice(&chunk);
            } else if total > max_bytes + OTHER_FIELDS_BYTES {
                return Err(too_large());
            }
        }
        if wanted {
            if buffer.is_empty() {
                return Err(issue("empty_file", format!("The {name} is empty")));
            }
            return Ok(buffer.freeze());
        }
    }
    Err(issue("missing", "Field required".into()))
}
