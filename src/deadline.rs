//! A deadline on every request whose only upstream is Postgres (`REQUEST_DEADLINE_MS`,
//! 1.8 s by default, so every answer comes within two seconds). The pool's acquire
//! timeout answers 503 when no connection can be had, but a connection that stops
//! answering mid-query (a black-holed network path, a hung pooler) would otherwise hold
//! its request until TCP gives up, minutes later. Past the deadline the request is
//! dropped and answered 503 in the envelope, or 408 when the client had not finished
//! sending its body (then the client is the slow one).
//!
//! Routes that also call storage or Fireworks are left to those calls' own deadlines
//! (storage 20 s, `FIREWORKS_DEADLINE_MS`), and their bodies to
//! `extract::BODY_IDLE_TIMEOUT`.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::Method;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError, web};
use futures_util::Stream;

use crate::error::ApiError;
use crate::state::AppState;

/// How long pooled connections stay suspect after one stopped answering.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Records that a database connection stopped answering (a request ran past its
/// deadline, or the readiness probe past its bound): for a while, the pool checks each
/// connection, with a bound, as it hands it out and takes it back (`db::connect_lazy`),
/// so connections left dead by the incident are closed instead of failing requests.
pub fn mark_connections_suspect() {
    SUSPECT_UNTIL_MS.fetch_max(now_ms() + SUSPECT_FOR.as_millis() as u64, Ordering::Relaxed);
}

/// Whether a connection stopped answering recently (see [`mark_connections_suspect`]).
/// One atomic load: the pool asks on every acquire and release.
pub fn connections_suspect() -> bool {
    SUSPECT_UNTIL_MS.load(Ordering::Relaxed) > now_ms()
}

/// Route templates that call storage or Fireworks too, with the methods concerned, and
/// the operators' identification metrics, which scan up to 90 days of events under a
/// statement timeout of their own (`db::quality`).
const OTHER_UPSTREAMS: [(&str, Option<Method>); 7] = [
    ("/api/v1/metrics/identification", None),
    ("/identify", None),
    ("/api/v1/identify", None),
    ("/api/v1/media/upload", None),
    ("/api/v1/media/{asset_id}/complete", None),
    ("/api/v1/media/delete/{file_path:.*}", None),
    ("/api/v1/users/me", Some(Method::DELETE)),
];

/// The deadline for this request, if its route is bound by one.
fn deadline_for(req: &ServiceRequest) -> Option<Duration> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let pattern = req.match_pattern();
    let exempt = OTHER_UPSTREAMS.iter().any(|(route, method)| {
        pattern.as_deref() == Some(*route) && method.as_ref().is_none_or(|m| m == req.method())
    });
    (!exempt).then_some(state.settings.request_deadline)
}

/// Whether the request announces a body.
fn has_body(req: &ServiceRequest) -> bool {
    req.headers().contains_key(TRANSFER_ENCODING)
        || req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|len| len > 0)
}

/// The request body, noting when its last byte has been read.
struct Watched {
    inner: Payload,
    done: Rc<Cell<bool>>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.done.set(true);
        }
        polled
    }
}

pub async fn request_deadline<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(deadline) = deadline_for(&req) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let body_read = Rc::new(Cell::new(true));
    if has_body(&req) {
        body_read.set(false);
        let inner = req.take_payload();
        let watched: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Watched {
            inner,
            done: body_read.clone(),
        });
        req.set_payload(Payload::from(watched));
    }
    let request = req.request().clone();

    let answer_by = std::time::Instant::now() + deadline;
    match tokio::time::timeout(
        deadline,
        crate::db::within_deadline(answer_by, next.call(req)),
    )
    .await
    {
        Ok(response) => Ok(response?.map_into_left_body()),
        Err(_) => {
            let ms = deadline.as_millis();
            let error = if body_read.get() {
                tracing::error!(deadline_ms = ms as u64, "request deadline exceeded");
                mark_connections_suspect();
                ApiError::Unavailable(format!("The request took longer than {ms} ms; try again"))
            } else {
                tracing::warn!(deadline_ms = ms as u64, "request body not received in time");
                ApiError::RequestTimeout(format!("The request body did not arrive within {ms} ms"))
            };
            Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
        }
    }
}
