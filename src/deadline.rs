//! A deadline on every request whose only upstream is Postgres (`REQUEST_DEADLINE_MS`,
//! 1.8 s by default, so every answer comes within two seconds). The pool's acquire
//! timeout answers 503 when no connection can be had, but a connection that stops
//! answering mid-query (a black-holed network path, a hung pooler) would otherwise hold
//! its request until TCP gives up, minutes later. Past the deadline the request is
//! dropped and answered 503 in the envelope, or 408 when the client had not finished
//! sending its body (then the client is the slow one).
//!
//! The routing table (`routes::configure`) says which routes it binds: those whose only
//! upstream is Postgres. Routes that also call storage, Fireworks or Supabase Auth are
//! left to those calls' own deadlines (storage 20 s, `FIREWORKS_DEADLINE_MS`), and their
//! bodies to `extract::BODY_IDLE_TIMEOUT`.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError, web};
use futures_util::Stream;

use crate::error::ApiError;

/// `REQUEST_DEADLINE_MS`, registered as app data for [`request_deadline`].
#[derive(Clone, Copy, Debug)]
pub struct RequestDeadline(pub Duration);

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
    let Some(deadline) = req.app_data::<web::Data<RequestDeadline>>().map(|d| d.0) else {
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
                crate::db::mark_connections_suspect();
                ApiError::Unavailable(format!("The request took longer than {ms} ms; try again"))
            } else {
                tracing::warn!(deadline_ms = ms as u64, "request body not received in time");
                ApiError::RequestTimeout(format!("The request body did not arrive within {ms} ms"))
            };
            Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
        }
    }
}
