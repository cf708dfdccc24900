//! The request's trace context: taken from Cloud Run's `X-Cloud-Trace-Context`
//! (`TRACE_ID/SPAN_ID;o=1`) or W3C `traceparent` when present, made up otherwise.
//! Kept in request extensions for handlers and in a task-local for error bodies.

use actix_web::http::header::HeaderMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex characters.
    pub trace_id: String,
    /// The caller's span id, when it sent one (decimal for Cloud Trace, hex for W3C).
    pub parent_span_id: Option<String>,
    pub sampled: bool,
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

impl TraceContext {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get("x-cloud-trace-context")
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse_cloud_trace)
            .or_else(|| {
                headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .and_then(Self::parse_traceparent)
            })
            .unwrap_or_else(Self::generate)
    }

    pub fn generate() -> Self {
        TraceContext {
            trace_id: Uuid::new_v4().simple().to_string(),
            parent_span_id: None,
            sampled: false,
        }
    }

    /// `TRACE_ID/SPAN_ID;o=OPTIONS`, span and options optional.
    pub fn parse_cloud_trace(value: &str) -> Option<Self> {
        let (trace, rest) = match value.split_once('/') {
            Some((t, r)) => (t, Some(r)),
            None => (value.split(';').next().unwrap_or(value), None),
        };
        let trace_id = valid_trace_id(trace)?;
        let (span, options) = match rest {
            Some(r) => match r.split_once(';') {
                Some((s, o)) => (Some(s), Some(o)),
                None => (Some(r), None),
            },
            None => (None, None),
        };
        let parent_span_id = span
            .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        Some(TraceContext {
            trace_id,
            parent_span_id,
            sampled: options.is_some_and(|o| o.trim() == "o=1"),
        })
    }

    /// `VERSION-TRACE_ID-PARENT_ID-FLAGS` (W3C Trace Context).
    pub fn parse_traceparent(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        if version.len() != 2 || version == "ff" || !is_hex(version) {
            return None;
        }
        if parent.len() != 16 || !is_hex(parent) || parent.bytes().all(|b| b == b'0') {
            return None;
        }
        if flags.len() != 2 || !is_hex(flags) {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(TraceContext {
            trace_id: valid_trace_id(trace)?,
            parent_span_id: Some(parent.to_ascii_lowercase()),
            sampled: flags & 1 == 1,
        })
    }

    /// Runs `f` with this context as the current one (for error bodies).
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_trace_id(s: &str) -> Option<String> {
    (s.len() == 32 && is_hex(s) && !s.bytes().all(|b| b == b'0')).then(|| s.to_ascii_lowercase())
}

/// The trace id of the request being handled on this task, if any.
pub fn current_trace_id() -> Option<String> {
    CURRENT.try_with(|t| t.trace_id.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn cloud_trace_header_is_parsed() {
        let t =
            TraceContext::parse_cloud_trace(&format!("{}/123456;o=1", T.to_uppercase())).unwrap();
        assert_eq!(t.trace_id, T);
        assert_eq!(t.parent_span_id.as_deref(), Some("123456"));
        assert!(t.sampled);
        let t = TraceContext::parse_cloud_trace(T).unwrap();
        assert_eq!(t.parent_span_id, None);
        assert!(!t.sampled);
    }

    #[test]
    fn traceparent_is_parsed() {
        let t = TraceContext::parse_traceparent(&format!("00-{T}-00f067aa0ba902b7-01")).unwrap();
        assert_eq!(t.trace_id, T);
        assert_eq!(t.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(t.sampled);
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for bad in [
            "",
            "xyz/1;o=1",
            "0000000000000000000000000000000/1",
            &format!("{T}0/1"),
            "/1",
        ] {
            assert!(TraceContext::parse_cloud_trace(bad).is_none(), "{bad}");
        }
        for bad in [
            "",
            "00-xyz-00f067aa0ba902b7-01",
            &format!("ff-{T}-00f067aa0ba902b7-01"),
            &format!("00-{T}-0000000000000000-01"),
            &format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
        ] {
            assert!(TraceContext::parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cloud_trace_wins_over_traceparent_and_a_missing_one_is_generated() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::from_str(&format!("00-{}-00f067aa0ba902b7-01", "1".repeat(32))).unwrap(),
        );
        assert_eq!(
            TraceContext::from_headers(&headers).trace_id,
            "1".repeat(32)
        );
        headers.insert(
            HeaderName::from_static("x-cloud-trace-context"),
            HeaderValue::from_str(&format!("{T}/1;o=1")).unwrap(),
        );
        assert_eq!(TraceContext::from_headers(&headers).trace_id, T);
        let generated = TraceContext::from_headers(&HeaderMap::new());
        assert_eq!(generated.trace_id.len(), 32);
        assert!(is_hex(&generated.trace_id));
    }
}
