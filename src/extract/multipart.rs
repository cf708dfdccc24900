//! Reading one photo field of a multipart body, with its size limit enforced while
//! reading (413), and a missing or empty field answered as a located 422.
//!
//! The whole body is bounded too: other fields are drained, but they count against the
//! same limit (plus a little for part heads), and at most [`MAX_PARTS`] parts are read,
//! so a body of endless small or large fields is a 413, not minutes of work.
//!
//! Memory is bounded by turns ([`UploadSlots`], `UPLOADS_IN_MEMORY`), but a slow sender
//! must not hold one: a photo is read without a turn up to [`UNTURNED_BYTES`] (a trickle
//! of bytes holds nothing anyone else needs), takes a turn only to go past that, and one
//! caller holds at most [`TURNS_PER_CALLER`] turns. The whole photo must arrive within
//! [`PHOTO_DEADLINE`], and the part read while holding a turn within
//! [`TURN_READ_DEADLINE`]; past either, 408.

use std::sync::Arc;
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::web::{Bytes, BytesMut};
use moka::future::Cache;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::json::next_chunk;
use crate::error::{ApiError, ApiResult, ValidationIssue};

/// The most parts a form may have (the app sends one).
pub const MAX_PARTS: usize = 16;
/// Bytes allowed for fields other than the wanted one, beyond its own limit.
const OTHER_FIELDS_BYTES: usize = 64 * 1024;
/// What a photo may hold in memory before it needs a turn: the app's own photos (sized
/// to 1024 px) mostly fit, and a few hundred connections' worth is still little.
pub const UNTURNED_BYTES: usize = 256 * 1024;
/// The whole photo must have arrived this long after reading began (the app gives up at
/// 30 s).
pub const PHOTO_DEADLINE: Duration = Duration::from_secs(20);
/// Once a photo holds a turn, the rest must arrive within this.
pub const TURN_READ_DEADLINE: Duration = Duration::from_secs(10);
/// Turns one caller (a user, or an anonymous address) may hold at once.
pub const TURNS_PER_CALLER: usize = 2;

/// How long a photo waits for its turn before a 503.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// Turns to hold a photo in memory past [`UNTURNED_BYTES`] (`UPLOADS_IN_MEMORY`), and
/// each caller's share of them. At most so many large bodies of up to 10 MB are held at
/// once (the others wait, their bytes in the socket, for up to 10 s, then get a 503), so
/// memory stays bounded whatever the concurrency.
pub struct UploadSlots {
    all: Arc<Semaphore>,
    per_caller: Cache<String, Arc<Semaphore>>,
}

/// A turn to hold a photo in memory, held until dropped.
pub struct Turn {
    _all: OwnedSemaphorePermit,
    _own: OwnedSemaphorePermit,
}

impl UploadSlots {
    pub fn new(slots: usize) -> Self {
        UploadSlots {
            all: Arc::new(Semaphore::new(slots)),
            // Longer than any turn is held (a photo's read, decode and model call), so a
            // caller's share is never forgotten while one of its turns is out.
            per_caller: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(300))
                .build(),
        }
    }

    /// A turn for `caller`: one of their own first, then one of everyone's.
    async fn turn(&self, caller: &str) -> ApiResult<Turn> {
        let own = self
            .per_caller
            .get_with_by_ref(caller, async { Arc::new(Semaphore::new(TURNS_PER_CALLER)) })
            .await;
        let busy = || {
            ApiError::Unavailable(
                "Too many photos are arriving right now; try again in a moment".into(),
            )
        };
        let until = Instant::now() + TURN_WAIT;
        let own = match tokio::time::timeout_at(until, own.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(busy()),
        };
        match tokio::time::timeout_at(until, self.all.clone().acquire_owned()).await {
            Ok(Ok(all)) => Ok(Turn {
                _all: all,
                _own: own,
            }),
            _ => Err(busy()),
        }
    }
}

/// A photo read into memory, and the turn that lets it stay there (none for a small one):
/// keep it until the photo is let go.
pub struct HeldPhoto {
    pub bytes: Bytes,
    pub turn: Option<Turn>,
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

/// The bytes of field `name` (other fields are drained and ignored), read for `caller`
/// as the module says. `size_hint` (the declared body length, see [`declared_length`])
/// sizes the buffer once it holds a turn, up to `max_bytes`, instead of letting it
/// double its way there: a 10 MB photo then holds 10 MB, not a 16 MB buffer after a copy
/// through an 8 MB one.
pub async fn read_photo(
    mut form: Multipart,
    name: &str,
    max_bytes: usize,
    size_hint: usize,
    slots: &UploadSlots,
    caller: &str,
) -> ApiResult<HeldPhoto> {
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
    let mut deadline = Instant::now() + PHOTO_DEADLINE;
    let late = || {
        ApiError::RequestTimeout(format!(
            "The photo did not arrive in time: at most {} s in all, and {} s once it is being held",
            PHOTO_DEADLINE.as_secs(),
            TURN_READ_DEADLINE.as_secs()
        ))
    };
    let mut turn = None;
    let mut parts = 0;
    let mut total = 0usize;
    while let Some(field) = tokio::time::timeout_at(deadline, next_chunk(&mut form))
        .await
        .map_err(|_| late())??
    {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(too_large());
        }
        let mut field = field.map_err(malformed)?;
        let wanted = field.name() == Some(name);
        let mut buffer = if wanted {
            BytesMut::with_capacity(size_hint.min(max_bytes).min(UNTURNED_BYTES))
        } else {
            BytesMut::new()
        };
        while let Some(chunk) = tokio::time::timeout_at(deadline, next_chunk(&mut field))
            .await
            .map_err(|_| late())??
        {
            let chunk = chunk.map_err(malformed)?;
            total += chunk.len();
            if wanted {
                if buffer.len() + chunk.len() > max_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The {name} is larger than {max_bytes} bytes"
                    )));
                }
                if turn.is_none() && buffer.len() + chunk.len() > UNTURNED_BYTES {
                    turn = Some(slots.turn(caller).await?);
                    deadline = deadline.min(Instant::now() + TURN_READ_DEADLINE);
                    buffer.reserve(size_hint.min(max_bytes).saturating_sub(buffer.len()));
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
            return Ok(HeldPhoto {
                bytes: buffer.freeze(),
                turn,
            });
        }
    }
    Err(issue("missing", "Field required".into()))
}
