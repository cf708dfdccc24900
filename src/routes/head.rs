//! `HEAD` on every `GET` route: the same answer without its body (RFC 9110). Routes are
//! declared per method, so a `HEAD` would find no route (405); it is routed as the `GET`
//! it stands for instead. actix-http leaves the body out of the answer to a request that
//! arrived as `HEAD` (it decided that while reading the request), and keeps the head,
//! `Content-Length` included.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
