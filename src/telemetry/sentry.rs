//! Sentry (`SENTRY_DSN`): errors logged with `tracing::error!` become events and
//! warnings breadcrumbs; panics are captured; each request's details ride along through
//! the actix middleware. `scrub` runs on every event before it leaves the process and
//! strips credentials, cookies, request bodies and presigned URLs' signatures, whatever
//! the SDK's own defaults do.

use std::sync::Arc;

use secrecy::ExposeSecret;
use sentry::protocol::{Breadcrumb, Event, Value};

use super::redact;
use crate::config::Settings;

/// Starts Sentry when a DSN is configured; keep the guard for the life of the process
/// (dropping it flushes what is queued).
pub fn init(settings: &Settings) -> Option<sentry::ClientInitGuard> {
    let dsn = settings.sentry_dsn.as_ref()?;
    let guard = sentry::init((dsn.expose_secret(), client_options(settings)));
    guard.is_enabled().then_some(guard)
}

pub fn client_options(settings: &Settings) -> sentry::ClientOptions {
    let environment = settings
        .sentry_environment
        .clone()
        .unwrap_or_else(|| settings.environment.as_str().to_owned());
    let mut options = sentry::ClientOptions::default();
    options.release = sentry::release_name!();
    options.environment = Some(environment.into());
    options.send_default_pii = false;
    options.max_request_body_size = sentry::MaxRequestBodySize::None;
    options.before_send = Some(Arc::new(|event| Some(scrub(event))));
    options.before_breadcrumb = Some(Arc::new(|crumb| Some(scrub_breadcrumb(crumb))));
    options
}

/// The tracing layers: ERROR → event, WARN → breadcrumb (on the next event), the
/// rest ignored.
pub fn tracing_layers<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::LevelFilter;
    ErrorLayer::new()
        .with_filter(LevelFilter::ERROR)
        .and_then(BreadcrumbLayer::new().with_filter(LevelFilter::WARN))
}

/// Removes what must never reach Sentry from an event.
pub fn scrub(mut event: Event<'static>) -> Event<'static> {
    if let Some(request) = event.request.as_mut() {
        request
            .headers
            .retain(|name, _| !redact::is_secret_header(name));
        request.cookies = None;
        request.data = None;
        if let Some(query) = request.query_string.take() {
            request.query_string = Some(redact::query(&query).into_owned());
        }
        if let Some(url) = request.url.as_mut()
            && let Some(query) = url.query().map(|q| redact::query(q).into_owned())
        {
            url.set_query(Some(&query));
        }
    }
    for crumb in event.breadcrumbs.values.iter_mut() {
        scrub_crumb_data(crumb);
    }
    scrub_values(event.extra.values_mut());
    event
}

fn scrub_breadcrumb(mut crumb: Breadcrumb) -> Breadcrumb {
    scrub_crumb_data(&mut crumb);
    crumb
}

fn scrub_crumb_data(crumb: &mut Breadcrumb) {
    if let Some(message) = crumb.message.take() {
        crumb.message = Some(redact::url(&message).into_owned());
    }
    scrub_values(crumb.data.values_mut());
}

/// Free-form values (log fields): redact secret query values in anything URL-like.
fn scrub_values<'a>(values: impl Iterator<Item = &'a mut Value>) {
    for value in values {
        if let Value::String(text) = value
            && text.contains('?')
        {
            *text = redact::url(text).into_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Map, Request};

    #[test]
    fn events_lose_credentials_cookies_bodies_and_signatures() {
        let mut headers = Map::new();
        headers.insert("Authorization".into(), "Bearer eyJhbGciOi.secret".into());
        headers.insert("Cookie".into(), "sb-access-token=abc".into());
        headers.insert("User-Agent".into(), "MachineMate/1.0".into());
        let mut event = Event {
            request: Some(Request {
                url: "https://api.example/media?X-Amz-Signature=deadbeef&page=1"
                    .parse()
                    .ok(),
                query_string: Some("X-Amz-Signature=deadbeef&page=1".into()),
                cookies: Some("sb-access-token=abc".into()),
                data: Some("{\"password\": \"hunter2\"}".into()),
                headers,
                ..Default::default()
            }),
            ..Default::default()
        };
        event.extra.insert(
            "url".into(),
            "https://s3/photo.jpg?X-Amz-Signature=deadbeef".into(),
        );
        let text = serde_json::to_string(&scrub(event)).unwrap();
        for secret in ["eyJhbGciOi", "sb-access-token", "deadbeef", "hunter2"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("MachineMate/1.0") && text.contains("page=1"));
    }
}
